"""Building blocks shared by generators and discriminators.

Norm and padding are chosen by the config's string fields here and nowhere else, so the
export rewrites (see ``mobilegan.export.rewrite``) only need to swap module types.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormFactory = Callable[[int], nn.Module]


class InstanceNormDecomposed(nn.Module):
    """InstanceNorm (no affine) written as mean / sub / mul / rsqrt.

    Same maths as ``nn.InstanceNorm2d(affine=False)`` (biased variance, eps inside the
    root), but every op is one XNNPACK takes, so the whole graph stays in one delegate.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        mean = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        centred = x - mean
        var = (centred * centred).mean(dim=(2, 3), keepdim=True)
        return centred * torch.rsqrt(var + self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


class AffineInstanceNorm(InstanceNormDecomposed):
    """InstanceNorm with a per-channel scale (``weight``) and offset (``bias``), decomposed like
    :class:`InstanceNormDecomposed`. TF's pix2pix ``InstanceNormalization`` and Keras
    ``GroupNormalization`` with one group per channel compute this; unlike ``nn.InstanceNorm2d`` it
    accepts a 1x1 feature map (the TF U-Net's innermost level), where it returns the offset, as TF does."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__(num_features, eps)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return super().forward(x) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ImageStatsBatchNorm(nn.BatchNorm2d):
    """A BatchNorm that always normalises each image with its own statistics, as a train-mode
    BatchNorm does on a batch of one (the official pix2pix/CycleGAN ``test.py`` without ``--eval``):
    an InstanceNorm with the BatchNorm's scale and shift. The running statistics stay in the state
    dict, so files load strictly, but are not used."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


class GroupNormOne(nn.Module):
    """GroupNorm with one group (statistics over C, H and W of each image) and a per-channel scale and
    offset, decomposed like :class:`InstanceNormDecomposed`: Keras ``GroupNormalization(groups=1)``, the
    norm of keras.io's Keras 3 CycleGAN generator."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        # The mean over channels as a 1x1 conv: XNNPACK takes means over H and W only.
        self.register_buffer("channel_mean", torch.full((1, num_features, 1, 1), 1.0 / num_features), persistent=False)

    def _mean(self, t: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 1, 1, 1)
        return F.conv2d(t.mean(dim=(2, 3), keepdim=True), self.channel_mean)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        centred = x - self._mean(x)
        var = self._mean(centred * centred)
        return centred * torch.rsqrt(var + self.eps) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


def norm_factory(kind: str, eps: float = 1e-5) -> NormFactory | None:
    """Constructor for a norm layer by config name; ``None`` means no norm."""
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, eps=eps, affine=False, track_running_stats=False)
    if kind == "instance_decomposed":
        return lambda c: InstanceNormDecomposed(c, eps=eps)
    if kind == "batch":
        return lambda c: nn.BatchNorm2d(c, eps=eps)
    if kind == "instance_affine":
        return lambda c: AffineInstanceNorm(c, eps=eps)
    if kind == "batch_image":
        return lambda c: ImageStatsBatchNorm(c, eps=eps)
    if kind == "group1":
        return lambda c: GroupNormOne(c, eps=eps)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}")


def tf_same_padding(kernel_size: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of TensorFlow's ``padding="same"`` for an input side divisible by ``stride``."""
    total = max(kernel_size - stride, 0)
    return total // 2, total - total // 2


class CropTransposed(nn.Module):
    """Crop ``before`` rows/columns at the top/left and ``after`` at the bottom/right: what TensorFlow's
    ``Conv2DTranspose(padding="same")`` keeps of the full transposed-conv output."""

    def __init__(self, before: int, after: int) -> None:
        super().__init__()
        self.before, self.after = before, after

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H', W') -> (B, C, H' - before - after, ...)
        h, w = x.shape[-2:]
        return x[..., self.before : h - self.after, self.before : w - self.after]

    def extra_repr(self) -> str:
        return f"before={self.before}, after={self.after}"


class ConvNormAct(nn.Sequential):
    """(pad) -> conv -> (norm) -> (act), with stable submodule names ``pad, conv, norm, act``.

    ``padding="reflect"`` uses an explicit ``ReflectionPad2d`` (as the paper's generator
    does) so that export can swap it; ``"zero"`` folds the padding into the conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int,
        stride: int = 1,
        padding: str = "zero",
        groups: int = 1,
        norm: NormFactory | None = None,
        act: Callable[[], nn.Module] | None = None,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        if padding == "reflect" and pad > 0:
            self.pad = nn.ReflectionPad2d(pad)
            conv_pad = 0
        elif padding == "tf_same":  # TensorFlow "same": the odd extra row/column goes at the bottom/right
            before, after = tf_same_padding(kernel_size, stride)
            self.pad = nn.ZeroPad2d((before, after, before, after))
            conv_pad = 0
        elif padding in ("zero", "reflect"):
            conv_pad = pad
        else:
            raise ValueError(f"unknown padding {padding!r}")
        use_bias = (norm is None) if bias is None else bias
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=conv_pad, groups=groups, bias=use_bias
        )
        if norm is not None:
            self.norm = norm(out_channels)
        if act is not None:
            self.act = act()


class UpsampleConvNormAct(nn.Sequential):
    """x2 upsampling then norm + act; submodules ``up`` (resize modes only), ``conv``, ``norm``, ``act``.

    ``mode="transpose"`` is the paper's ConvTranspose2d(k3, s2, p1, output_padding=1);
    ``"transpose_tf"`` TensorFlow's Conv2DTranspose(3, strides=2, padding="same"): the full output
    with the last row and column dropped (submodule ``crop``);
    ``"nearest"`` / ``"bilinear"`` resize then apply a 3x3 conv (zero padding, as PyTorch-GAN).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        mode: str,
        norm: NormFactory | None,
        bias: bool,
    ) -> None:
        super().__init__()
        if mode == "transpose":
            self.conv = nn.ConvTranspose2d(
                in_channels, out_channels, 3, stride=2, padding=1, output_padding=1, bias=bias
            )
        elif mode == "transpose_tf":
            self.conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=0, bias=bias)
            self.crop = CropTransposed(*tf_same_padding(3, 2))
        elif mode in ("nearest", "bilinear"):
            self.up = nn.Upsample(scale_factor=2, mode=mode, align_corners=False if mode == "bilinear" else None)
            self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1, bias=bias)
        else:
            raise ValueError(f"unknown upsample mode {mode!r}")
        if norm is not None:
            self.norm = norm(out_channels)
        self.act = nn.ReLU(inplace=False)


class ResidualBlock(nn.Module):
    """The paper's R block: two 3x3 convs (same width), norm, ReLU between, identity skip."""

    def __init__(self, channels: int, *, padding: str, norm: NormFactory | None, bias: bool, dropout: float) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(channels, channels, kernel_size=3, padding=padding, norm=norm, act=nn.ReLU, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = ConvNormAct(channels, channels, kernel_size=3, padding=padding, norm=norm, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> same
        return x + self.conv2(self.dropout(self.conv1(x)))


class DepthwiseResidualBlock(nn.Module):
    """Mobile R block: two depthwise-separable convs (dw 3x3 -> norm -> pw 1x1 -> norm).

    About 8x fewer MACs than :class:`ResidualBlock` at equal width. ReLU after the first
    separable conv only, so the block is the same shape of function as the paper's.
    """

    def __init__(self, channels: int, *, padding: str, norm: NormFactory | None, bias: bool, dropout: float,
                 dw_norm: NormFactory | None | str = "same") -> None:
        super().__init__()
        c = channels
        dw = norm if dw_norm == "same" else dw_norm  # the norm after the depthwise convs
        dw_bias = bias or dw is None
        self.conv_dw1 = ConvNormAct(c, c, kernel_size=3, padding=padding, groups=c, norm=dw, bias=dw_bias)
        self.conv_pw1 = ConvNormAct(c, c, kernel_size=1, norm=norm, act=nn.ReLU, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv_dw2 = ConvNormAct(c, c, kernel_size=3, padding=padding, groups=c, norm=dw, bias=dw_bias)
        self.conv_pw2 = ConvNormAct(c, c, kernel_size=1, norm=norm, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> same
        y = self.conv_pw1(self.conv_dw1(x))
        y = self.conv_pw2(self.conv_dw2(self.dropout(y)))
        return x + y
