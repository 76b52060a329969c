"""The FID Inception-v3: the TensorFlow ``inception-2015-12-05`` graph that FID is defined on.

This is the network of the original TTUR FID code, ported to PyTorch by pytorch-fid (as its
``FIDInceptionA/C/E_1/E_2`` patches of torchvision's Inception) and by NVIDIA (the TorchScript file
clean-fid and StyleGAN use). It differs from torchvision's ImageNet Inception-v3 in its weights
and in three places: the average pools inside the blocks leave the zero padding out of the mean,
the last block max-pools its pool branch, and batch norm has no scale (only a shift, eps 1e-3).

Module and parameter names follow the TF graph (``layers.mixed_4.tower_1.conv_2.beta``), which is
also how the packaged TorchScript file names them, so its tensors load with a strict state dict.
Input: (N, 3, 299, 299) in [-1, 1]; output: (N, 2048) pool features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 2048
BN_EPS = 1e-3

Kernel = int | tuple[int, int]


def _pair(v: Kernel) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


class ConvBN(nn.Module):
    """Conv (no bias) -> batch norm with a shift but no scale -> ReLU; all four tensors are buffers."""

    def __init__(self, cin: int, cout: int, kernel: Kernel, *, stride: int = 1, padding: Kernel = 0) -> None:
        super().__init__()
        kh, kw = _pair(kernel)
        self.stride = stride
        self.padding = _pair(padding)
        self.register_buffer("weight", torch.zeros(cout, cin, kh, kw))
        self.register_buffer("beta", torch.zeros(cout))
        self.register_buffer("mean", torch.zeros(cout))
        self.register_buffer("var", torch.ones(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, None, self.stride, self.padding)
        return F.relu(F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.0, BN_EPS))


class _AvgPoolNoPad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _MaxPool(nn.Module):
    def __init__(self, stride: int, padding: int) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 3, stride=self.stride, padding=self.padding)


class _PoolConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.pool = _AvgPoolNoPad()
        self.conv = ConvBN(cin, cout, 1)


def _chain(*convs: ConvBN) -> nn.Sequential:
    seq = nn.Sequential()
    for i, conv in enumerate(convs):
        seq.add_module("conv" if i == 0 else f"conv_{i}", conv)
    return seq


class BlockA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.conv = ConvBN(cin, 64, 1)
        self.tower = _chain(ConvBN(cin, 48, 1), ConvBN(48, 64, 5, padding=2))
        self.tower_1 = _chain(ConvBN(cin, 64, 1), ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, padding=1))
        self.tower_2 = _PoolConv(cin, pool_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class BlockB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.conv = ConvBN(cin, 384, 3, stride=2)
        self.tower = _chain(ConvBN(cin, 64, 1), ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, stride=2))
        self.pool = _MaxPool(2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.pool(x)], 1)


class BlockC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.conv = ConvBN(cin, 192, 1)
        self.tower = _chain(ConvBN(cin, c7, 1), ConvBN(c7, c7, **row), ConvBN(c7, 192, **col))
        self.tower_1 = _chain(ConvBN(cin, c7, 1), ConvBN(c7, c7, **col), ConvBN(c7, c7, **row),
                              ConvBN(c7, c7, **col), ConvBN(c7, 192, **row))
        self.tower_2 = _PoolConv(cin, 192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class BlockD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.tower = _chain(ConvBN(cin, 192, 1), ConvBN(192, 320, 3, stride=2))
        self.tower_1 = _chain(ConvBN(cin, 192, 1), ConvBN(192, 192, (1, 7), padding=(0, 3)),
                              ConvBN(192, 192, (7, 1), padding=(3, 0)), ConvBN(192, 192, 3, stride=2))
        self.pool = _MaxPool(2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.tower(x), self.tower_1(x), self.pool(x)], 1)


class BlockE(nn.Module):
    """The last two blocks: the first averages its pool branch (padding left out), the second max-pools."""

    def __init__(self, cin: int, *, max_pool: bool) -> None:
        super().__init__()
        self.conv = ConvBN(cin, 320, 1)
        self.tower_conv = ConvBN(cin, 384, 1)
        self.tower_mixed_conv = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.tower_mixed_conv_1 = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.tower_1_conv = ConvBN(cin, 448, 1)
        self.tower_1_conv_1 = ConvBN(448, 384, 3, padding=1)
        self.tower_1_mixed_conv = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.tower_1_mixed_conv_1 = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.tower_2_pool: nn.Module = _MaxPool(1, 1) if max_pool else _AvgPoolNoPad()
        self.tower_2_conv = ConvBN(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat([self.conv(x), self.tower_mixed_conv(a), self.tower_mixed_conv_1(a),
                          self.tower_1_mixed_conv(b), self.tower_1_mixed_conv_1(b),
                          self.tower_2_conv(self.tower_2_pool(x))], 1)


class FidInceptionV3(nn.Module):
    """Inception-v3 up to the 2048-d average pool, in the TF FID graph's layout and names."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential()
        for name, module in [
            ("conv", ConvBN(3, 32, 3, stride=2)), ("conv_1", ConvBN(32, 32, 3)),
            ("conv_2", ConvBN(32, 64, 3, padding=1)), ("pool0", _MaxPool(2, 0)),
            ("conv_3", ConvBN(64, 80, 1)), ("conv_4", ConvBN(80, 192, 3)), ("pool1", _MaxPool(2, 0)),
            ("mixed", BlockA(192, 32)), ("mixed_1", BlockA(256, 64)), ("mixed_2", BlockA(288, 64)),
            ("mixed_3", BlockB(288)),
            ("mixed_4", BlockC(768, 128)), ("mixed_5", BlockC(768, 160)), ("mixed_6", BlockC(768, 160)),
            ("mixed_7", BlockC(768, 192)), ("mixed_8", BlockD(768)),
            ("mixed_9", BlockE(1280, max_pool=False)), ("mixed_10", BlockE(2048, max_pool=True)),
        ]:
            self.layers.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(x), 1).flatten(1)  # (N, 2048)


def conv_layout(model: FidInceptionV3) -> dict[str, tuple[int, tuple[int, int]]]:
    """(stride, padding) of every conv, by its dotted name, to check against a weights file."""
    return {name: (m.stride, m.padding) for name, m in model.named_modules() if isinstance(m, ConvBN)}
