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
