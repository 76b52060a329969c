"""Each MIL reference kernel against a PyTorch reference, on small random inputs.

Ops are built with coremltools' MIL builder, so the op's real parameter semantics and its
declared output shape (the interpreter checks it) are exercised, not just our kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ct = pytest.importorskip("coremltools")
from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402

from mobilegan.export import mil_ops  # noqa: E402
from mobilegan.export.mil_interpreter import MilInterpreter, UnknownMilOpError  # noqa: E402

RNG = np.random.default_rng(0)


def run_op(build, x: np.ndarray, *, fp16: bool = False) -> np.ndarray:
    """Build a one-input program with ``build(x_var)`` and run it in the interpreter."""
    dtype = types.fp16 if fp16 else types.fp32

    @mb.program(input_specs=[mb.TensorSpec(shape=x.shape, dtype=dtype)], opset_version=ct.target.iOS16)
    def prog(x_in):
        return build(x_in)

    interp = MilInterpreter(prog)
    return interp.run({interp.input_names[0]: x}).outputs[interp.output_names[0]]


def rand(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def close(got: np.ndarray, want: torch.Tensor, tol: float = 1e-4) -> None:
    want_np = want.detach().numpy()
    assert got.shape == want_np.shape
    np.testing.assert_allclose(got, want_np, atol=tol, rtol=tol)


@pytest.mark.parametrize(
    "groups,stride,dilation,pad_type",
    [(1, 1, 1, "valid"), (1, 2, 1, "custom"), (2, 1, 2, "custom"), (4, 1, 1, "same"), (1, 2, 1, "same"), (4, 2, 1, "custom")],
)
def test_conv(groups: int, stride: int, dilation: int, pad_type: str) -> None:
    x, w, b = rand(1, 4, 9, 8), rand(6 if groups != 4 else 4, 4 // groups, 3, 3), rand(6 if groups != 4 else 4)
    pad = [1, 2, 0, 1] if pad_type == "custom" else [0, 0, 0, 0]
    got = run_op(
        lambda v: mb.conv(x=v, weight=w, bias=b, strides=[stride] * 2, dilations=[dilation] * 2,
                          pad_type=pad_type, pad=pad, groups=groups), x)
    xt = torch.from_numpy(x)
    if pad_type == "same":  # TF "same": total padding split with the extra pixel after
        pads = [mil_ops._same_pads(n, (3 - 1) * dilation + 1, stride, False) for n in x.shape[2:]]
        xt = F.pad(xt, [*pads[1], *pads[0]])
    elif pad_type == "custom":
        xt = F.pad(xt, [pad[2], pad[3], pad[0], pad[1]])
    close(got, F.conv2d(xt, torch.from_numpy(w), torch.from_numpy(b), stride=stride, dilation=dilation, groups=groups))


@pytest.mark.parametrize("groups,stride,padding,output_padding", [(1, 2, 1, 1), (2, 2, 0, 0), (1, 1, 1, 0), (4, 2, 1, 1)])
def test_conv_transpose(groups: int, stride: int, padding: int, output_padding: int) -> None:
    x, w, b = rand(1, 4, 5, 6), rand(4, 8 // groups, 3, 3), rand(8)
    want = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride,
                              padding=padding, output_padding=output_padding, groups=groups)
    got = run_op(lambda v: mb.conv_transpose(
        x=v, weight=w, bias=b, strides=[stride] * 2, pad_type="custom", pad=[padding] * 4,
        output_shape=list(want.shape), groups=groups), x)
    close(got, want)


def test_conv_transpose_valid_without_output_shape() -> None:
    x, w = rand(1, 3, 4, 4), rand(3, 2, 3, 3)
    got = run_op(lambda v: mb.conv_transpose(x=v, weight=w, strides=[2, 2], pad_type="valid"), x)
    close(got, F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2))


def test_instance_and_batch_norm() -> None:
    x, g, b = rand(2, 3, 6, 5, scale=3.0), rand(3), rand(3)
    got = run_op(lambda v: mb.instance_norm(x=v, gamma=g, beta=b, epsilon=1e-5), x)
    close(got, F.instance_norm(torch.from_numpy(x), weight=torch.from_numpy(g), bias=torch.from_numpy(b), eps=1e-5))
    mean, var = rand(3), np.abs(rand(3)) + 0.1
    got = run_op(lambda v: mb.batch_norm(x=v, mean=mean, variance=var, gamma=g, beta=b, epsilon=1e-3), x)
    want = F.batch_norm(torch.from_numpy(x), torch.from_numpy(mean), torch.from_numpy(var), torch.from_numpy(g),
                        torch.from_numpy(b), training=False, eps=1e-3)
    close(got, want)


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("reflect", "reflect"), ("replicate", "replicate")])
def test_pad_modes(mode: str, torch_mode: str) -> None:
    x = rand(1, 2, 5, 6)
    got = run_op(lambda v: mb.pad(x=v, pad=[0, 0, 0, 0, 2, 1, 3, 1], mode=mode, constant_val=0.5), x)
    kw = {"value": 0.5} if mode == "constant" else {}
    close(got, F.pad(torch.from_numpy(x), [3, 1, 2, 1], mode=torch_mode, **kw))


@pytest.mark.parametrize(
    "op,ref",
    [
        ("relu", torch.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid),
        ("sqrt", lambda t: torch.sqrt(t.abs())), ("rsqrt", lambda t: torch.rsqrt(t.abs() + 1e-12)),
    ],
)
def test_unary(op: str, ref) -> None:
    x = rand(1, 3, 4, 4)
    if op in ("sqrt", "rsqrt"):
        x = np.abs(x) + 0.1
    close(run_op(lambda v: getattr(mb, op)(x=v), x), ref(torch.from_numpy(x)), tol=1e-5)


@pytest.mark.parametrize("op,ref", [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("real_div", torch.div)])
def test_binary_broadcast(op: str, ref) -> None:
    x, y = rand(1, 3, 4, 4), np.abs(rand(1, 3, 1, 1)) + 0.5
    close(run_op(lambda v: getattr(mb, op)(x=v, y=y), x), ref(torch.from_numpy(x), torch.from_numpy(y)), tol=1e-5)


def test_clip_reduce_mean_crop_concat() -> None:
    x = rand(1, 3, 6, 7, scale=2.0)
    close(run_op(lambda v: mb.clip(x=v, alpha=-0.5, beta=0.7), x), torch.clamp(torch.from_numpy(x), -0.5, 0.7))
    close(run_op(lambda v: mb.reduce_mean(x=v, axes=[2, 3], keep_dims=True), x), torch.from_numpy(x).mean((2, 3), keepdim=True))
    close(run_op(lambda v: mb.crop(x=v, crop_height=[1, 2], crop_width=[0, 3]), x), torch.from_numpy(x)[:, :, 1:4, 0:4])
    close(run_op(lambda v: mb.concat(values=[v, mb.relu(x=v)], axis=1), x),
          torch.cat([torch.from_numpy(x), torch.relu(torch.from_numpy(x))], 1))


def test_slice_reshape_transpose() -> None:
    x = rand(1, 3, 6, 7)
    got = run_op(lambda v: mb.slice_by_index(x=v, begin=[0, 1, 1, 0], end=[1, 3, 5, 7], stride=[1, 1, 2, 1],
                                             end_mask=[False, False, False, True]), x)
    close(got, torch.from_numpy(x)[:, 1:3, 1:5:2, :])
    close(run_op(lambda v: mb.reshape(x=v, shape=[3, 42]), x), torch.from_numpy(x).reshape(3, 42))
    close(run_op(lambda v: mb.transpose(x=v, perm=[0, 2, 3, 1]), x), torch.from_numpy(x).permute(0, 2, 3, 1))


def test_upsample_nearest_and_bilinear() -> None:
    x = rand(1, 2, 4, 5)
    xt = torch.from_numpy(x)
    close(run_op(lambda v: mb.upsample_nearest_neighbor(x=v, scale_factor_height=2, scale_factor_width=2), x),
          F.interpolate(xt, scale_factor=2, mode="nearest"))
    for align in (True, False):
        got = run_op(lambda v: mb.upsample_bilinear(x=v, scale_factor_height=2, scale_factor_width=2, align_corners=align), x)
        close(got, F.interpolate(xt, scale_factor=2, mode="bilinear", align_corners=align), tol=1e-5)


def test_compressed_constants_match_coremltools() -> None:
    from coremltools.converters.mil.mil.ops.defs.iOS16.constexpr_ops import constexpr_lut_to_dense

    lut = rand(64)
    idx = RNG.integers(0, 64, size=30)
    packed = np.packbits(((idx[:, None] >> np.arange(6)) & 1).astype(np.uint8).reshape(-1), bitorder="little")
    want = constexpr_lut_to_dense.decompress(lut, packed, np.array([5, 6], dtype=np.uint32))
    args = mil_ops.OpArgs("constexpr_lut_to_dense", "t", {"lut": lut, "indices": packed, "shape": np.array([5, 6])}, np.dtype(np.float32))
    np.testing.assert_array_equal(mil_ops.KERNELS["constexpr_lut_to_dense"](args), want)
    q = RNG.integers(-128, 127, size=(4, 3)).astype(np.int8)
    scale, zero = np.array([0.1, 0.2, 0.3, 0.4], np.float32), np.zeros(4, np.int8)
    args = mil_ops.OpArgs("constexpr_affine_dequantize", "t", {"quantized_data": q, "zero_point": zero, "scale": scale, "axis": 0}, np.dtype(np.float32))
    np.testing.assert_allclose(mil_ops.KERNELS["constexpr_affine_dequantize"](args), q * scale[:, None], rtol=1e-6)


def test_fp16_program_emulates_fp16_and_overflows() -> None:
    """Moderate values: fp16 close to fp32 but not equal. Large ones: instance_norm's variance overflows."""
    x = rand(1, 2, 8, 8, scale=3.0)
    build = lambda v: mb.instance_norm(x=v, epsilon=1e-5)  # noqa: E731
    build16 = lambda v: mb.instance_norm(x=v, epsilon=np.float16(1e-5))  # noqa: E731
    f32 = run_op(build, x)
    f16 = run_op(build16, x.astype(np.float16), fp16=True)
    assert f16.dtype == np.float16
    assert 0 < np.abs(f16.astype(np.float32) - f32).max() < 1e-2
    big = rand(1, 2, 8, 8, scale=2000.0)  # deviations above 256 square past 65504
    want = F.instance_norm(torch.from_numpy(big)).numpy()
    np.testing.assert_allclose(run_op(build, big), want, atol=1e-4)
    assert np.abs(run_op(build16, big.astype(np.float16), fp16=True).astype(np.float32) - want).max() > 0.5


def test_unknown_op_is_an_error_naming_it() -> None:
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3))], opset_version=ct.target.iOS16)
    def prog(x):
        return mb.erf(x=mb.relu(x=x))

    with pytest.raises(UnknownMilOpError, match="erf"):
        MilInterpreter(prog)


def test_wrong_kernel_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    x = rand(1, 3, 4, 4)
    monkeypatch.setitem(mil_ops.KERNELS, "relu", lambda a: np.abs(a.x()))  # a plausible bug
    with pytest.raises(AssertionError):
        close(run_op(lambda v: mb.relu(x=v), x), torch.relu(torch.from_numpy(x)))
