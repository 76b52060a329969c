"""NumPy kernels for the MIL ops our generators convert to (the reference interpreter's op set).

Each kernel takes an :class:`OpArgs` (the op's inputs as NumPy arrays / Python values) and
returns one array. Kernels compute in float32; the interpreter then rounds the result to the
op's declared output dtype, so an fp16 program behaves like fp16 storage between ops.
Composite ops (``instance_norm``, ``batch_norm``, ``reduce_mean``) also round their
*intermediate* values to the compute dtype via :meth:`OpArgs.r`, so the classic fp16 hazard
(InstanceNorm's squared deviations overflowing 65504) shows up as it would on a device that
keeps intermediates in fp16. Convolutions accumulate in float32 (what GPUs and the ANE do).

Semantics follow the coremltools op documentation (``coremltools.converters.mil.mil.ops.defs``);
every kernel is tested against a PyTorch reference in ``tests/test_mil_ops.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mobilegan.errors import MobileganError

F32 = np.float32


class MilOpError(MobileganError):
    """A MIL op the reference interpreter cannot execute (unknown op, unsupported mode)."""


@dataclass(frozen=True)
class OpArgs:
    """Inputs of one op call. ``dtype`` is the op's output dtype (float16 for fp16 programs)."""

    op_type: str
    name: str
    inputs: dict[str, Any]
    dtype: np.dtype
    # Peak |value| of the intermediates passed through r(): filled during the call.
    stats: dict[str, float] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return self.inputs.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.inputs.get(key)
        return default if value is None else value

    def x(self, key: str = "x") -> np.ndarray:
        """A float input, widened to float32 for computation."""
        value = self.inputs.get(key)
        if value is None:
            raise MilOpError(f"MIL op {self.op_type} ({self.name}) lacks its required input {key!r}")
        return np.asarray(value).astype(F32)

    def ints(self, key: str, default: Any = None) -> list[int]:
        value = self.get(key, default)
        return [int(v) for v in np.asarray(value).reshape(-1)]

    def scalar(self, key: str, default: Any = None) -> Any:
        value = self.get(key, default)
        return value.item() if isinstance(value, np.ndarray) else value

    def r(self, value: np.ndarray) -> np.ndarray:
        """Round an intermediate to the compute dtype (a no-op for fp32 programs)."""
        finite = value[np.isfinite(value)]
        if finite.size:
            self.stats["peak"] = max(self.stats.get("peak", 0.0), float(np.abs(finite).max()))
        if self.dtype == np.float16:
            with np.errstate(over="ignore"):
                return value.astype(np.float16).astype(F32)
        return value.astype(F32)

    def peak(self) -> float:
        return self.stats.get("peak", 0.0)

    def fail(self, what: str) -> MilOpError:
        return MilOpError(f"MIL op {self.op_type} ({self.name}): {what}")


Kernel = Callable[[OpArgs], np.ndarray]
KERNELS: dict[str, Kernel] = {}


def kernel(*names: str) -> Callable[[Kernel], Kernel]:
    def wrap(fn: Kernel) -> Kernel:
        for name in names:
            KERNELS[name] = fn
        return fn

    return wrap


# ---------------------------------------------------------------- elementwise


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Kernel:
    return lambda a: fn(a.x("x"), a.x("y"))


KERNELS["add"] = _binary(np.add)
KERNELS["sub"] = _binary(np.subtract)
KERNELS["mul"] = _binary(np.multiply)
KERNELS["real_div"] = _binary(np.divide)
KERNELS["maximum"] = _binary(np.maximum)
KERNELS["minimum"] = _binary(np.minimum)
KERNELS["pow"] = _binary(np.power)


@kernel("relu")
def _relu(a: OpArgs) -> np.ndarray:
    return np.maximum(a.x(), 0)


@kernel("leaky_relu")
def _leaky_relu(a: OpArgs) -> np.ndarray:
    x = a.x()
    return np.where(x >= 0, x, x * F32(a.scalar("alpha", 0.01)))


@kernel("tanh")
def _tanh(a: OpArgs) -> np.ndarray:
    return np.tanh(a.x())


@kernel("sigmoid")
def _sigmoid(a: OpArgs) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a.x()))


@kernel("sqrt")
def _sqrt(a: OpArgs) -> np.ndarray:
    return np.sqrt(a.x())


@kernel("rsqrt")
def _rsqrt(a: OpArgs) -> np.ndarray:
    # MIL's rsqrt adds epsilon (default 1e-12) inside the root.
    return 1.0 / np.sqrt(a.x() + F32(a.scalar("epsilon", 1e-12)))


@kernel("clip")
def _clip(a: OpArgs) -> np.ndarray:
    return np.clip(a.x(), F32(a.scalar("alpha")), F32(a.scalar("beta")))


@kernel("cast")
def _cast(a: OpArgs) -> np.ndarray:
    # The interpreter converts the result to the declared output dtype; nothing else to do.
    value = np.asarray(a.get("x"))
    return value if value.dtype.kind in "iub" else value.astype(F32)


@kernel("identity")
def _identity(a: OpArgs) -> np.ndarray:
    return np.asarray(a.get("x"))


# ---------------------------------------------------------------- reductions and norms


def _axes(a: OpArgs, rank: int) -> tuple[int, ...] | None:
    if not a.has("axes"):
        return None
    return tuple(int(ax) % rank for ax in a.ints("axes"))


@kernel("reduce_mean")
def _reduce_mean(a: OpArgs) -> np.ndarray:
    x = a.x()
    return np.mean(x, axis=_axes(a, x.ndim), keepdims=bool(a.scalar("keep_dims", False)))


@kernel("reduce_sum")
def _reduce_sum(a: OpArgs) -> np.ndarray:
    x = a.x()
    return np.sum(x, axis=_axes(a, x.ndim), keepdims=bool(a.scalar("keep_dims", False)))


def _channel(v: np.ndarray, rank: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (rank - 2))


@kernel("instance_norm")
def _instance_norm(a: OpArgs) -> np.ndarray:
    # (N, C, H, W): statistics per sample and channel over H, W; biased variance.
    x = a.x()
    axes = tuple(range(2, x.ndim))
    mean = a.r(np.mean(x, axis=axes, keepdims=True))
    centred = a.r(x - mean)
    var = a.r(np.mean(a.r(centred * centred), axis=axes, keepdims=True))
    out = a.r(centred * a.r(1.0 / np.sqrt(var + F32(a.scalar("epsilon", 1e-5)))))
    if a.has("gamma"):
        out = a.r(out * _channel(a.x("gamma"), x.ndim))
    if a.has("beta"):
        out = out + _channel(a.x("beta"), x.ndim)
    return out


@kernel("batch_norm")
def _batch_norm(a: OpArgs) -> np.ndarray:
    x = a.x()
    rank = x.ndim
    inv = a.r(1.0 / np.sqrt(a.x("variance") + F32(a.scalar("epsilon", 1e-5))))
    out = a.r((x - _channel(a.x("mean"), rank)) * _channel(inv, rank))
    if a.has("gamma"):
        out = a.r(out * _channel(a.x("gamma"), rank))
    if a.has("beta"):
        out = out + _channel(a.x("beta"), rank)
    return out


# ---------------------------------------------------------------- convolutions


def _same_pads(size: int, k_eff: int, stride: int, lower: bool) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


def _conv_pads(a: OpArgs, spatial: tuple[int, ...], k_eff: list[int], strides: list[int]) -> list[tuple[int, int]]:
    pad_type = str(a.scalar("pad_type", "valid"))
    if pad_type == "valid":
        return [(0, 0)] * len(spatial)
    if pad_type == "custom":
        pad = a.ints("pad", [0] * 2 * len(spatial))
        return [(pad[2 * i], pad[2 * i + 1]) for i in range(len(spatial))]
    if pad_type in ("same", "same_lower"):
        return [_same_pads(s, k, st, pad_type == "same_lower") for s, k, st in zip(spatial, k_eff, strides)]
    raise a.fail(f"unsupported pad_type {pad_type!r}")


@kernel("conv")
def _conv(a: OpArgs) -> np.ndarray:
    x, w = a.x(), a.x("weight")  # (N, C_in, H, W), (C_out, C_in / g, kh, kw)
    if x.ndim != 4:
        raise a.fail(f"only 2-D convolution is implemented (input rank {x.ndim})")
    groups = int(a.scalar("groups", 1))
    strides, dil = a.ints("strides", [1, 1]), a.ints("dilations", [1, 1])
    kh, kw = w.shape[2:]
    k_eff = [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1]
    pads = _conv_pads(a, x.shape[2:], k_eff, strides)
    x = np.pad(x, [(0, 0), (0, 0), *pads])
    n, c_in, _, _ = x.shape
    c_out = w.shape[0]
    win = sliding_window_view(x, tuple(k_eff), axis=(2, 3))  # (N, C, Ho', Wo', kh_eff, kw_eff)
    win = win[:, :, :: strides[0], :: strides[1], :: dil[0], :: dil[1]]
    win = win.reshape(n, groups, c_in // groups, *win.shape[2:])  # (N, g, C/g, Ho, Wo, kh, kw)
    wg = w.reshape(groups, c_out // groups, c_in // groups, kh, kw)
    out = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
    out = out.reshape(n, c_out, *out.shape[3:])
    if a.has("bias"):
        out = out + _channel(a.x("bias"), 4)
    return out


@kernel("conv_transpose")
def _conv_transpose(a: OpArgs) -> np.ndarray:
    x, w = a.x(), a.x("weight")  # (N, C_in, H, W), (C_in, C_out / g, kh, kw)
    if x.ndim != 4:
        raise a.fail(f"only 2-D transposed convolution is implemented (input rank {x.ndim})")
    groups = int(a.scalar("groups", 1))
    strides, dil = a.ints("strides", [1, 1]), a.ints("dilations", [1, 1])
    n, c_in, h, wd = x.shape
    kh, kw = w.shape[2:]
    cg_out = w.shape[1]
    full_h, full_w = (h - 1) * strides[0] + (kh - 1) * dil[0] + 1, (wd - 1) * strides[1] + (kw - 1) * dil[1] + 1
    full = np.zeros((n, groups, cg_out, full_h, full_w), dtype=F32)
    xg = x.reshape(n, groups, c_in // groups, h, wd)
    wg = w.reshape(groups, c_in // groups, cg_out, kh, kw)
    for i in range(kh):  # scatter every input pixel once per kernel tap
        for j in range(kw):
            tap = np.einsum("ngchw,gco->ngohw", xg, wg[:, :, :, i, j], optimize=True)
            r0, c0 = i * dil[0], j * dil[1]
            full[:, :, :, r0 : r0 + (h - 1) * strides[0] + 1 : strides[0], c0 : c0 + (wd - 1) * strides[1] + 1 : strides[1]] += tap
    full = full.reshape(n, groups * cg_out, full_h, full_w)
    pad_type = str(a.scalar("pad_type", "valid"))
    pad = a.ints("pad", [0, 0, 0, 0])
    if a.has("output_shape"):
        target = a.ints("output_shape")[2:]
    elif pad_type == "same":
        target = [h * strides[0], wd * strides[1]]
    elif pad_type == "custom":
        target = [full_h - pad[0] - pad[1], full_w - pad[2] - pad[3]]
    elif pad_type == "valid":
        target = [full_h, full_w]
    else:
        raise a.fail(f"unsupported pad_type {pad_type!r}")
    if pad_type == "custom":
        starts = [pad[0], pad[2]]
    elif pad_type == "same":
        starts = [max(full_h - target[0], 0) // 2, max(full_w - target[1], 0) // 2]
    else:
        starts = [0, 0]
    out = np.zeros((n, full.shape[1], target[0], target[1]), dtype=F32)
    hh = min(target[0], full_h - starts[0])
    ww = min(target[1], full_w - starts[1])
    out[:, :, :hh, :ww] = full[:, :, starts[0] : starts[0] + hh, starts[1] : starts[1] + ww]
    if a.has("bias"):
        out = out + _channel(a.x("bias"), 4)
    return out


# ---------------------------------------------------------------- shape, padding, resizing


@kernel("pad")
def _pad(a: OpArgs) -> np.ndarray:
    x = a.x()
    pad = a.ints("pad")  # pairs for the last len(pad) / 2 axes
    k = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)]
    mode = str(a.scalar("mode", "constant"))
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=F32(a.scalar("constant_val", 0.0)))
    if mode == "reflect":
        return np.pad(x, widths, mode="reflect")
    if mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise a.fail(f"unsupported pad mode {mode!r}")


@kernel("crop")
def _crop(a: OpArgs) -> np.ndarray:
    x = a.x()
    top, bottom = a.ints("crop_height", [0, 0])
    left, right = a.ints("crop_width", [0, 0])
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


@kernel("concat")
def _concat(a: OpArgs) -> np.ndarray:
    values = [np.asarray(v).astype(F32) for v in a.get("values")]
    axis = int(a.scalar("axis"))
    if bool(a.scalar("interleave", False)):
        raise a.fail("interleave=True is not implemented")
    return np.concatenate(values, axis=axis)


@kernel("slice_by_index")
def _slice_by_index(a: OpArgs) -> np.ndarray:
    x = np.asarray(a.get("x"))
    rank = x.ndim
    begin, end = a.ints("begin"), a.ints("end")
    stride = a.ints("stride", [1] * rank)
    begin_mask = a.ints("begin_mask", [0] * rank)
    end_mask = a.ints("end_mask", [0] * rank)
    squeeze = a.ints("squeeze_mask", [0] * rank)
    index: list[Any] = []
    for d in range(rank):
        if squeeze[d]:
            index.append(begin[d])
            continue
        start = None if begin_mask[d] else begin[d]
        stop = None if end_mask[d] else end[d]
        index.append(slice(start, stop, stride[d]))
    return x[tuple(index)]


@kernel("reshape")
def _reshape(a: OpArgs) -> np.ndarray:
    return np.asarray(a.get("x")).reshape(a.ints("shape"))


@kernel("transpose")
def _transpose(a: OpArgs) -> np.ndarray:
    return np.transpose(np.asarray(a.get("x")), a.ints("perm"))


@kernel("upsample_nearest_neighbor")
def _upsample_nearest(a: OpArgs) -> np.ndarray:
    x = a.x()
    sh, sw = float(a.scalar("scale_factor_height", 1)), float(a.scalar("scale_factor_width", 1))
    oh, ow = int(np.floor(x.shape[-2] * sh)), int(np.floor(x.shape[-1] * sw))
    rows = np.minimum((np.arange(oh) * x.shape[-2] / oh).astype(np.int64), x.shape[-2] - 1)
    cols = np.minimum((np.arange(ow) * x.shape[-1] / ow).astype(np.int64), x.shape[-1] - 1)
    return x[..., rows, :][..., cols]


def _bilinear_grid(size_in: int, size_out: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    i = np.arange(size_out, dtype=np.float64)
    if align_corners:
        grid = i * ((size_in - 1) / (size_out - 1)) if size_out > 1 else np.zeros_like(i)
    elif half_pixel:
        spacing = size_in / size_out
        grid = i * spacing + 0.5 * spacing - 0.5
    else:
        grid = i * (size_in / size_out)
    return np.clip(grid, 0, size_in - 1)


def _interp_axis(x: np.ndarray, grid: np.ndarray, axis: int) -> np.ndarray:
    lo = np.floor(grid).astype(np.int64)
    hi = np.minimum(lo + 1, x.shape[axis] - 1)
    frac = (grid - lo).astype(F32)
    shape = [1] * x.ndim
    shape[axis] = -1
    frac = frac.reshape(shape)
    return np.take(x, lo, axis=axis) * (1 - frac) + np.take(x, hi, axis=axis) * frac


@kernel("upsample_bilinear")
def _upsample_bilinear(a: OpArgs) -> np.ndarray:
    x = a.x()
    sh, sw = float(a.scalar("scale_factor_height", 1)), float(a.scalar("scale_factor_width", 1))
    align = bool(a.scalar("align_corners", True))
    half_pixel = bool(a.scalar("half_pixel_centers", not align))
    oh, ow = int(np.floor(x.shape[-2] * sh)), int(np.floor(x.shape[-1] * sw))
    x = _interp_axis(x, _bilinear_grid(x.shape[-2], oh, align, half_pixel), x.ndim - 2)
    return _interp_axis(x, _bilinear_grid(x.shape[-1], ow, align, half_pixel), x.ndim - 1)


# Kernels for compressed constants and pixel (un)shuffle live in their own modules and register into
# KERNELS on import.
from mobilegan.export import mil_ops_constexpr  # noqa: E402, F401
from mobilegan.export import mil_ops_layout  # noqa: E402, F401
