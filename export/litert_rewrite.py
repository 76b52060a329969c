"""Outputs-unchanged rewrites for the LiteRT converter (``litert-torch``).

The converter (litert-torch 0.10) fails on every ``nn.ConvTranspose2d`` with "failed to
legalize operation 'mhlo.convolution'" (the paper's k3 s2 p1 output_padding 1 upsampling and
the mobile students' copy of it). A transposed convolution with stride ``s`` is a sub-pixel
convolution: output row ``o = s*m + a`` (phase ``a``) only ever sees kernel taps ``k`` with
``(a + p - k) % s == 0``, read at input row ``m + (a + p - k) // s``. So one ordinary
convolution over the (zero-padded) input with ``s*s*C_out`` channels, one channel group per
output phase, followed by ``PixelShuffle(s)`` and a crop, computes exactly the same numbers
(:class:`SubPixelConvTranspose2d`). The weight is rearranged once, at rewrite time; for the
paper's layer the new kernel is 2x2 (16 multiply-adds per input pixel where the transposed
conv does 9 that are not zero: the price of one dense conv that XNNPACK runs well).

Reflection padding converts to ``MIRROR_PAD``, which XNNPACK does not take: every pad of the
paper's generator split the graph (21 XNNPACK partitions, 20 ops outside for ``resnet_9blocks``).
It is rewritten as one-pixel slices and concatenations of at most three tensors
(:class:`ReflectionPadGrouped`; a seven-input concatenation stayed outside XNNPACK), and
nearest x2 upsampling (PyTorch-GAN's generators) as a 1x1 depthwise conv and a pixel shuffle
(:class:`NearestUpsample2xShuffle`). InstanceNorm needs nothing: the converter
writes it as mean / sub / rsqrt / mul, all delegated.

Only applied for the LiteRT export; the caller's model is deep-copied, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mobilegan.export.rewrite import (
    ReflectionPadSlices,
    RewriteReport,
    _following_conv_in_channels,
    _is_nearest_x2,
    swap_modules,
)

MAX_CONCAT_INPUTS = 3  # XNNPACK's CONCATENATION took up to 3 here; 7 (a 3-pixel reflection pad) stayed outside


@dataclass(frozen=True)
class _AxisPlan:
    """Per spatial axis: which kernel taps feed each output phase, and at what input offset."""

    stride: int
    taps: tuple[tuple[tuple[int, int], ...], ...]  # [phase] -> ((kernel tap, input offset d), ...)
    d_min: int
    d_max: int
    out_len_extra: int  # transposed output length = (n - 1) * s + out_len_extra

    @property
    def kernel(self) -> int:
        return self.d_max - self.d_min + 1


def _axis_plan(kernel: int, stride: int, padding: int, output_padding: int) -> _AxisPlan:
    taps = []
    for phase in range(stride):
        taps.append(tuple((k, (phase + padding - k) // stride) for k in range(kernel)
                          if (phase + padding - k) % stride == 0))
    offsets = [d for phase in taps for _, d in phase]
    if not offsets:
        raise ValueError("transposed conv without taps")
    return _AxisPlan(stride=stride, taps=tuple(taps), d_min=min(offsets), d_max=max(offsets),
                     out_len_extra=kernel - 2 * padding + output_padding)


class SubPixelConvTranspose2d(nn.Module):
    """``nn.ConvTranspose2d`` (dilation 1, zero padding) as pad -> Conv2d -> PixelShuffle -> crop."""

    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if tuple(deconv.dilation) != (1, 1) or deconv.padding_mode != "zeros":
            raise ValueError("only dilation 1 and zero padding are supported")
        sh, sw = (int(v) for v in deconv.stride)
        if sh != sw:
            raise ValueError(f"unequal strides {deconv.stride} are not supported")
        self.stride = sh
        self.plan_h = _axis_plan(deconv.kernel_size[0], sh, deconv.padding[0], deconv.output_padding[0])
        self.plan_w = _axis_plan(deconv.kernel_size[1], sw, deconv.padding[1], deconv.output_padding[1])
        self.groups = deconv.groups
        self.out_channels = deconv.out_channels
        weight, bias = self._subpixel_weight(deconv)
        self.conv = nn.Conv2d(deconv.in_channels, weight.shape[0], (self.plan_h.kernel, self.plan_w.kernel),
                              groups=self.groups, bias=bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(weight)
            if bias is not None:
                self.conv.bias.copy_(bias)
        self.shuffle = nn.PixelShuffle(self.stride)

    def _subpixel_weight(self, deconv: nn.ConvTranspose2d) -> tuple[torch.Tensor, torch.Tensor | None]:
        s, g = self.stride, self.groups
        w_t = deconv.weight.detach()  # (C_in, C_out / g, kh, kw)
        c_in, out_g = w_t.shape[0], w_t.shape[1]
        in_g = c_in // g
        # As an ordinary conv weight: (C_out, C_in / g, kh, kw), output channel gi * out_g + j.
        w = w_t.reshape(g, in_g, out_g, *w_t.shape[2:]).transpose(1, 2).reshape(g * out_g, in_g, *w_t.shape[2:])
        new = w.new_zeros(g * out_g, s, s, in_g, self.plan_h.kernel, self.plan_w.kernel)
        for a, taps_h in enumerate(self.plan_h.taps):
            for b, taps_w in enumerate(self.plan_w.taps):
                for kh, dh in taps_h:
                    for kw, dw in taps_w:
                        new[:, a, b, :, dh - self.plan_h.d_min, dw - self.plan_w.d_min] = w[:, :, kh, kw]
        # Channel c * s^2 + a * s + b is output channel c at phase (a, b): PixelShuffle's order, and
        # each group's s^2 * out_g channels stay contiguous.
        new = new.reshape(g * out_g * s * s, in_g, self.plan_h.kernel, self.plan_w.kernel)
        bias = deconv.bias.detach().repeat_interleave(s * s) if deconv.bias is not None else None
        return new, bias

    @staticmethod
    def _pads(plan: _AxisPlan, n: int) -> tuple[int, int, int, int]:
        """(crop before, pad before, pad after, phase rows) for an input axis of length ``n``."""
        length = (n - 1) * plan.stride + plan.out_len_extra
        rows = -(-length // plan.stride)  # conv output rows needed (ceil)
        crop = max(0, plan.d_min)
        before = max(0, -plan.d_min)
        after = max(0, rows - 1 + plan.d_max - (n - 1))
        return crop, before, after, rows

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H', W')
        h, w = x.shape[-2:]
        crop_h, top, bottom, rows = self._pads(self.plan_h, h)
        crop_w, left, right, cols = self._pads(self.plan_w, w)
        if crop_h or crop_w:
            x = x[..., crop_h:, crop_w:]
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        y = self.conv(x)[..., :rows, :cols]  # (B, C_out s^2, rows, cols)
        y = self.shuffle(y)  # (B, C_out, s rows, s cols)
        out_h = (h - 1) * self.stride + self.plan_h.out_len_extra
        out_w = (w - 1) * self.stride + self.plan_w.out_len_extra
        if y.shape[-2] != out_h or y.shape[-1] != out_w:
            y = y[..., :out_h, :out_w]
        return y

    def extra_repr(self) -> str:
        return f"stride={self.stride}, out_channels={self.out_channels}, groups={self.groups}"


class ReflectionPadGrouped(ReflectionPadSlices):
    """:class:`ReflectionPadSlices` without concatenations of more than :data:`MAX_CONCAT_INPUTS`
    tensors. The converter merges nested concatenations into one, so a wide pad (3 pixels: seven
    pieces) is built as zero padding plus each side's slices zero-padded into place, added: the
    additions add exact zeros, and PAD and ADD both run in XNNPACK."""

    @staticmethod
    def _pad_dim(x: torch.Tensor, before: int, after: int, dim: int) -> torch.Tensor:
        size = x.shape[dim]
        if before >= size or after >= size:
            raise ValueError(f"reflection padding ({before}, {after}) needs a side > padding, got {size}")
        head = [x.narrow(dim, i, 1) for i in range(before, 0, -1)]
        tail = [x.narrow(dim, size - 1 - i, 1) for i in range(1, after + 1)]
        if len(head) + len(tail) + 1 <= MAX_CONCAT_INPUTS:
            return torch.cat([*head, x, *tail], dim=dim)
        out = _pad_along(x, before, after, dim)
        if head:
            out = out + _pad_along(_joined(head, dim), 0, size + after, dim)
        if tail:
            out = out + _pad_along(_joined(tail, dim), before + size, 0, dim)
        return out


def _pad_along(x: torch.Tensor, before: int, after: int, dim: int) -> torch.Tensor:
    """Zero padding of a (B, C, H, W) tensor along ``dim`` (2 or 3)."""
    pads = (before, after, 0, 0) if dim == 3 else (0, 0, before, after)
    return F.pad(x, pads)


def _joined(parts: list[torch.Tensor], dim: int) -> torch.Tensor:
    """``torch.cat(parts)``, each concatenation taking at most :data:`MAX_CONCAT_INPUTS` inputs."""
    while len(parts) > 1:
        parts = [torch.cat(parts[i : i + MAX_CONCAT_INPUTS], dim=dim) if len(parts[i : i + MAX_CONCAT_INPUTS]) > 1
                 else parts[i] for i in range(0, len(parts), MAX_CONCAT_INPUTS)]
    return parts[0]


class NearestUpsample2xShuffle(nn.Module):
    """Nearest x2 upsampling as a 1x1 depthwise conv (weights 1, four outputs per channel) and
    ``PixelShuffle(2)``: each pixel is copied to its 2x2 block, as nearest x2 does. LiteRT's
    ``RESIZE_NEAREST_NEIGHBOR`` stays outside XNNPACK and the ExecuTorch rewrite
    (a transposed conv) does not convert."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("weight", torch.ones(4 * channels, 1, 1, 1))
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, 2H, 2W)
        return self.shuffle(F.conv2d(x, self.weight, groups=self.channels))

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


def _replacement(parent: nn.Module, name: str, module: nn.Module) -> nn.Module | None:
    if isinstance(module, nn.ConvTranspose2d):
        return SubPixelConvTranspose2d(module)
    if isinstance(module, nn.ReflectionPad2d):  # MIRROR_PAD: XNNPACK leaves it out, one split per pad
        return ReflectionPadGrouped(tuple(int(p) for p in module.padding))
    if _is_nearest_x2(module):
        channels = _following_conv_in_channels(parent, name)
        return NearestUpsample2xShuffle(channels) if channels is not None else None
    return None


def rewrite_for_litert(model: nn.Module) -> tuple[nn.Module, RewriteReport]:
    """A deep copy of ``model`` whose transposed convs are sub-pixel convs; outputs are unchanged."""
    return swap_modules(model, _replacement)
