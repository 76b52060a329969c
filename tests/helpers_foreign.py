"""Independent reference networks with the key layouts of other CycleGAN code bases.

Written from the published layouts (see mobilegan/checkpoints/foreign.py docstring), not
from our generator, so tests can prove that loading their state dicts reproduces them.
"""

from __future__ import annotations

import torch
from torch import nn


class _OfficialBlock(nn.Module):
    def __init__(self, dim: int, norm: type[nn.Module], bias: bool, dropout: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class OfficialResnetGenerator(nn.Module):
    """pytorch-CycleGAN-and-pix2pix ResnetGenerator layout (keys model.N..., conv_block.1/.5 or .6)."""

    def __init__(self, ngf: int = 8, n_blocks: int = 6, *, dropout: bool = False, batch_norm: bool = False) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if batch_norm else (lambda c: nn.InstanceNorm2d(c))
        bias = not batch_norm
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=bias), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            m = 2**i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1, bias=bias), norm(ngf * m * 2), nn.ReLU(True)]
        layers += [_OfficialBlock(ngf * 4, norm, bias, dropout) for _ in range(n_blocks)]
        for i in range(2):
            m = 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                norm(ngf * m // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _GanBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class PyTorchGanGenerator(nn.Module):
    """PyTorch-GAN GeneratorResNet layout (block.1/.5, nearest Upsample + 3x3 conv)."""

    def __init__(self, ngf: int = 8, n_blocks: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(inplace=True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(ch * 2), nn.ReLU(inplace=True)]
            ch *= 2
        layers += [_GanBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(ch, ch // 2, 3, stride=1, padding=1),
                       nn.InstanceNorm2d(ch // 2), nn.ReLU(inplace=True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def randomize_norm_stats(module: nn.Module, seed: int = 0) -> None:
    """Give BatchNorm layers non-trivial running stats and affine params (eval-mode maths)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def with_legacy_instance_stats(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict plus the InstanceNorm running_mean/var/num_batches_tracked keys
    that files saved by old PyTorch versions carry (the network never used them)."""
    out = dict(model.state_dict())
    for name, m in model.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            out[f"{name}.running_mean"] = torch.randn(m.num_features)
            out[f"{name}.running_var"] = torch.rand(m.num_features) + 0.5
            out[f"{name}.num_batches_tracked"] = torch.tensor(7)
    return out


class _OfficialUnetBlock(nn.Module):
    """pytorch-CycleGAN-and-pix2pix UnetSkipConnectionBlock layout: one nn.Sequential ``model`` per level,
    in-place activations as there, input joined before the level's output."""

    def __init__(self, outer: int, inner: int, *, input_nc: int | None = None, sub: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "instance", dropout: bool = False,
                 output_nc: int | None = None) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        make_norm = {"instance": lambda c: nn.InstanceNorm2d(c), "batch": nn.BatchNorm2d, "none": lambda c: nn.Identity()}[norm]
        input_nc = outer if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner, kernel_size=4, stride=2, padding=1, bias=bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner * 2, output_nc or outer, kernel_size=4, stride=2, padding=1)
            layers = [downconv, sub, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner, outer, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [downrelu, downconv, uprelu, upconv, make_norm(outer)]
        else:
            upconv = nn.ConvTranspose2d(inner * 2, outer, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [downrelu, downconv, make_norm(inner), sub, uprelu, upconv, make_norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class OfficialUnetGenerator(nn.Module):
    """pytorch-CycleGAN-and-pix2pix UnetGenerator (keys model.model.1.model.3...)."""

    def __init__(self, num_downs: int = 5, ngf: int = 4, *, norm: str = "instance", dropout: bool = False,
                 in_nc: int = 3, out_nc: int = 3) -> None:
        super().__init__()
        kw = {"norm": norm}
        block = _OfficialUnetBlock(ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = _OfficialUnetBlock(ngf * 8, ngf * 8, sub=block, dropout=dropout, **kw)
        block = _OfficialUnetBlock(ngf * 4, ngf * 8, sub=block, **kw)
        block = _OfficialUnetBlock(ngf * 2, ngf * 4, sub=block, **kw)
        block = _OfficialUnetBlock(ngf, ngf * 2, sub=block, **kw)
        self.model = _OfficialUnetBlock(out_nc, ngf, input_nc=in_nc, sub=block, outermost=True, output_nc=out_nc, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
