"""Parameter and MAC counts, per layer and in total.

Two MAC conventions are reported:

* ``macs`` — the real multiply-accumulates. A stride-s ConvTranspose2d does
  ``in_pixels * C_in * C_out * k^2`` (every input pixel is scattered once per tap).
* ``macs_compat`` — the convention of the GAN-compression papers (GAN Compression, CAT,
  OMGD), whose counter charges a ConvTranspose2d as ``out_pixels * C_in * C_out * k^2``
  (4x the real work at stride 2). ``resnet_9blocks`` at 256 px: 56.8 G compat, 49.6 G real.

Only convolutions and linear layers are counted, as in those papers; the space-to-depth students'
``PixelUnshuffle`` / ``PixelShuffle`` only move values between channels and pixels and count zero.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class LayerProfile:
    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    macs: int
    macs_compat: int


@dataclass(frozen=True)
class Profile:
    params: int
    macs: int
    macs_compat: int
    size: tuple[int, int]
    layers: list[LayerProfile] = field(default_factory=list)

    def to_dict(self, *, layers: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "params": self.params,
            "macs": self.macs,
            "macs_compat": self.macs_compat,
            "size": list(self.size),
        }
        if layers:
            out["layers"] = [asdict(layer) for layer in self.layers]
        return out


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_side(model: nn.Module, h: int, w: int) -> None:
    """A clear error when the model cannot take an ``h`` x ``w`` input (a U-Net's sides must be
    multiples of ``2 ** num_downs``)."""
    from mobilegan.errors import ConfigError

    multiple = getattr(model, "size_multiple", 1)  # generators say what they take; other modules anything
    if h % multiple or w % multiple:
        raise ConfigError(f"{type(model).__name__} needs sides that are multiples of {multiple} (got {h}x{w})")


def _conv_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> tuple[int, int]:
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        per_out_pixel = module.in_channels // module.groups * k * module.out_channels
        macs = out.shape[0] * out.shape[2] * out.shape[3] * per_out_pixel
        return macs, macs
    if isinstance(module, nn.ConvTranspose2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        per_pixel = module.in_channels * module.out_channels // module.groups * k
        real = inp.shape[0] * inp.shape[2] * inp.shape[3] * per_pixel
        compat = out.shape[0] * out.shape[2] * out.shape[3] * per_pixel
        return real, compat
    if isinstance(module, nn.Linear):
        macs = out.numel() * module.in_features
        return macs, macs
    return 0, 0


def _probe(model: nn.Module, hooks: list[torch.utils.hooks.RemovableHandle], shape: tuple[int, int, int, int]) -> None:
    """One eval-mode forward pass of zeros through ``model`` for its ``hooks``; removes them and
    restores the training flag afterwards."""
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        model(torch.zeros(*shape, device=device))
    finally:
        for hk in hooks:
            hk.remove()
        model.train(was_training)


@torch.no_grad()
def profile_model(model: nn.Module, size: int | tuple[int, int] = 256, *, in_channels: int = 3) -> Profile:
    """Run one forward pass at ``size`` (batch 1) and count parameters and MACs per layer."""
    h, w = (size, size) if isinstance(size, int) else size
    check_side(model, h, w)
    layers: list[LayerProfile] = []
    hooks = []

    def hook(name: str):
        def fn(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            real, compat = _conv_macs(module, args[0], out)
            layers.append(
                LayerProfile(
                    name=name,
                    kind=type(module).__name__,
                    in_shape=tuple(args[0].shape),
                    out_shape=tuple(out.shape),
                    params=sum(p.numel() for p in module.parameters(recurse=False)),
                    macs=real,
                    macs_compat=compat,
                )
            )

        return fn

    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            hooks.append(module.register_forward_hook(hook(name)))
    _probe(model, hooks, (1, in_channels, h, w))
    return Profile(
        params=count_params(model),
        macs=sum(layer.macs for layer in layers),
        macs_compat=sum(layer.macs_compat for layer in layers),
        size=(h, w),
        layers=layers,
    )


def _rf_step(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> tuple[int, float]:
    """(input pixels the layer adds to the receptive field, in its own input's pixels; scale of its
    output pixel in input pixels) for one spatial layer; (0, 1) for anything pointwise."""
    def side(t: tuple[int, ...] | int) -> int:
        return max(t) if isinstance(t, tuple) else int(t)

    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        k = side(module.kernel_size)
        dilation = side(getattr(module, "dilation", 1))
        return dilation * (k - 1), float(side(module.stride))
    if isinstance(module, nn.ConvTranspose2d):  # an output pixel sees ceil(k / s) input pixels
        k, s = side(module.kernel_size) * side(module.dilation) - side(module.dilation) + 1, side(module.stride)
        return -(-k // s) - 1, 1.0 / s
    if isinstance(module, nn.Upsample):
        scale = out.shape[-1] / inp.shape[-1]
        return (0 if module.mode == "nearest" else 2), 1.0 / scale  # interpolating: 2 (1 plus alignment slack)
    if isinstance(module, nn.PixelUnshuffle):
        return module.downscale_factor - 1, float(module.downscale_factor)
    if isinstance(module, nn.PixelShuffle):
        return 0, 1.0 / module.upscale_factor
    return 0, 1.0


_RF_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d, nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle)


@torch.no_grad()
def receptive_field(model: nn.Module, *, size: int = 64, in_channels: int = 3) -> int:
    """Side in input pixels of the window one output pixel depends on (per-pixel-local layers only).

    Spatial layers are visited in execution order (one forward pass at ``size``) and their
    growth summed along that chain: exact for a chain with residual blocks (a skip path sees
    less than the block), an upper bound for networks with parallel branches. Whole-image
    statistics (InstanceNorm, the context branch) are not counted: see :mod:`mobilegan.inference.tiling`.
    """
    size = max(size, getattr(model, "size_multiple", 1))  # a U-Net needs one pixel at its innermost level
    steps: list[tuple[int, float]] = []
    # The context branch (mobilegan.models.context) reads the whole image: like InstanceNorm
    # statistics it is computed once per photo, not per tile, so it is not part of the local window.
    hooks = [m.register_forward_hook(lambda m, a, o: steps.append(_rf_step(m, a[0], o)))
             for name, m in model.named_modules() if isinstance(m, _RF_LAYERS) and not name.startswith("context.")]
    _probe(model, hooks, (1, in_channels, size, size))
    rf, jump = 1.0, 1.0  # jump: input pixels per pixel of the current feature map
    for grow, scale in steps:
        rf += grow * jump
        jump *= scale
    return int(math.ceil(rf))


def format_count(n: float) -> str:
    """11378179 -> '11.378 M', 56799264768 -> '56.80 G'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3f} {unit}" if unit == "M" else f"{n / scale:.2f} {unit}"
    return str(int(n))


def parse_count(text: str) -> int:
    """'1.4G' / '800M' / '1400000000' -> int (for --target-macs)."""
    t = text.strip().upper().replace(" ", "")
    scale = {"G": 1e9, "M": 1e6, "K": 1e3}.get(t[-1:], 1.0)
    number = t[:-1] if t[-1:] in "GMK" else t
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"not a count: {text!r} (expected e.g. 1.4G, 800M)") from None
    if value <= 0:
        raise ValueError(f"count must be positive: {text!r}")
    return int(value)


def layer_table(profile: Profile) -> str:
    """A plain-text per-layer table."""
    rows = [("layer", "type", "output", "params", "MACs", "MACs (compat)")]
    for layer in profile.layers:
        rows.append(
            (
                layer.name,
                layer.kind,
                "x".join(str(d) for d in layer.out_shape[1:]),
                f"{layer.params:,}",
                f"{layer.macs:,}",
                f"{layer.macs_compat:,}",
            )
        )
    rows.append(("total", "", "", f"{profile.params:,}", f"{profile.macs:,}", f"{profile.macs_compat:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[j]) if j < 3 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * wd for wd in widths))
    return "\n".join(lines)
