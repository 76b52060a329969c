"""Outputs-unchanged module rewrites so XNNPACK takes the whole graph (one delegated segment).

XNNPACK does not take InstanceNorm (``_native_batch_norm_legit.no_stats``), reflection
padding (lowered to index/arange ops) or ``upsample_nearest2d``; each op it leaves out
splits the graph and runs on slow portable kernels (../shared/DESIGN.md section 3). The
rewrites replace those modules with equivalents built from ops it does take:

* ``nn.InstanceNorm2d`` (no affine, no running stats) -> :class:`InstanceNormDecomposed`
  (mean / sub / mul / rsqrt; affine InstanceNorm keeps its scale and shift as a 1x1 mul/add).
  :class:`~mobilegan.models.layers.ImageStatsBatchNorm` (norm ``batch_image``: official BatchNorm
  ResNets and U-Nets as their test.py runs them) becomes the affine one too.
* ``nn.ReflectionPad2d`` -> :class:`ReflectionPadSlices` (single-column slices + cat).
* ``nn.Upsample(scale_factor=2, mode="nearest")`` -> :class:`NearestUpsample2x`
  (a depthwise ConvTranspose2d, kernel 2, stride 2, all weights 1: every input pixel is
  copied to its 2x2 output block, exactly what nearest x2 does).

The rewrite works on a deep copy; the caller's model is never changed.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from mobilegan.models.layers import ImageStatsBatchNorm, InstanceNormDecomposed


class AffineInstanceNormDecomposed(InstanceNormDecomposed):
    """:class:`InstanceNormDecomposed` followed by a per-channel scale and shift."""

    def __init__(self, num_features: int, eps: float, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__(num_features, eps)
        self.weight = nn.Parameter(weight.detach().clone().view(1, -1, 1, 1))
        self.bias = nn.Parameter(bias.detach().clone().view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return super().forward(x) * self.weight + self.bias


class ReflectionPadSlices(nn.Module):
    """``ReflectionPad2d`` as concatenated one-pixel slices (no index or flip ops)."""

    def __init__(self, padding: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.left, self.right, self.top, self.bottom = padding

    @staticmethod
    def _pad_dim(x: torch.Tensor, before: int, after: int, dim: int) -> torch.Tensor:
        size = x.shape[dim]
        if before >= size or after >= size:
            raise ValueError(f"reflection padding ({before}, {after}) needs a side > padding, got {size}")
        # Reflection excludes the edge pixel: before-pad is x[before], ..., x[1].
        head = [x.narrow(dim, i, 1) for i in range(before, 0, -1)]
        tail = [x.narrow(dim, size - 1 - i, 1) for i in range(1, after + 1)]
        return torch.cat([*head, x, *tail], dim=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H+t+b, W+l+r)
        x = self._pad_dim(x, self.left, self.right, dim=3)
        return self._pad_dim(x, self.top, self.bottom, dim=2)

    def extra_repr(self) -> str:
        return f"({self.left}, {self.right}, {self.top}, {self.bottom})"


class NearestUpsample2x(nn.Module):
    """Nearest x2 upsampling as a depthwise ConvTranspose2d (k2, s2, weights 1, no bias).

    ``nn.Upsample`` does not know its channel count; the rewrite reads it from the conv
    that follows (as in every generator here). The all-ones weight is a fixed buffer.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("weight", torch.ones(channels, 1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, 2H, 2W)
        return nn.functional.conv_transpose2d(x, self.weight, stride=2, groups=self.channels)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


@dataclass(frozen=True)
class RewriteReport:
    """What :func:`rewrite_for_xnnpack` replaced, by original module type."""

    replaced: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.replaced.values())


def _is_nearest_x2(module: nn.Module) -> bool:
    if not isinstance(module, nn.Upsample) or module.mode != "nearest" or module.size is not None:
        return False
    sf = module.scale_factor
    factors = sf if isinstance(sf, tuple) else (sf, sf)
    return all(float(f) == 2.0 for f in factors)


def _following_conv_in_channels(parent: nn.Module, child_name: str) -> int | None:
    """Channel count of the upsample's input, read from the conv that follows it in ``parent``."""
    names = [n for n, _ in parent.named_children()]
    idx = names.index(child_name)
    for name in names[idx + 1 :]:
        nxt = getattr(parent, name)
        if isinstance(nxt, (nn.Conv2d, nn.ConvTranspose2d)):
            return nxt.in_channels
    return None


def _replacement(parent: nn.Module, name: str, module: nn.Module) -> nn.Module | None:
    if isinstance(module, ImageStatsBatchNorm):  # a BatchNorm on each image's own statistics
        return AffineInstanceNormDecomposed(module.num_features, module.eps, module.weight, module.bias)
    if isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats:
        if module.affine:
            return AffineInstanceNormDecomposed(module.num_features, module.eps, module.weight, module.bias)
        return InstanceNormDecomposed(module.num_features, eps=module.eps)
    if isinstance(module, nn.ReflectionPad2d):
        return ReflectionPadSlices(tuple(int(p) for p in module.padding))
    if _is_nearest_x2(module):
        channels = _following_conv_in_channels(parent, name)
        return NearestUpsample2x(channels) if channels is not None else None
    return None


Replacement = Callable[[nn.Module, str, nn.Module], "nn.Module | None"]


def swap_modules(model: nn.Module, replacement: Replacement) -> tuple[nn.Module, RewriteReport]:
    """A deep copy of ``model`` (eval mode) with every child for which ``replacement(parent, name,
    child)`` returns a module swapped for it; the report counts the swaps by original type."""
    out = copy.deepcopy(model).eval()
    counts: Counter[str] = Counter()
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            new = replacement(parent, name, child)
            if new is not None:
                setattr(parent, name, new)
                counts[type(child).__name__] += 1
    return out, RewriteReport(replaced=dict(counts))


def rewrite_for_xnnpack(model: nn.Module) -> tuple[nn.Module, RewriteReport]:
    """A deep copy of ``model`` with every rewritable module swapped; outputs are unchanged."""
    return swap_modules(model, _replacement)
