"""The LiteRT-only rewrites compute exactly what the modules they replace compute, and the
delegation count of a ``.tflite`` node list is right (no converter needed: fast)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers_distill import single_thread  # noqa: F401  (autouse fixture)

from mobilegan.export.litert_delegation import report_from_ops
from mobilegan.export.litert_rewrite import (
    NearestUpsample2xShuffle,
    ReflectionPadGrouped,
    SubPixelConvTranspose2d,
    rewrite_for_litert,
)
from mobilegan.models import create_model

# (in, out, kernel, stride, padding, output_padding, groups, bias): the paper's upsampling first.
DECONVS = [
    (8, 4, 3, 2, 1, 1, 1, True),
    (8, 8, 3, 2, 1, 1, 8, False),  # depthwise
    (6, 4, 4, 2, 1, 0, 2, True),  # grouped, even kernel (U-Net style)
    (4, 4, 2, 2, 0, 0, 4, False),  # the ExecuTorch nearest-x2 rewrite
    (4, 6, 5, 3, 2, 1, 1, True),  # stride 3
    (3, 3, 1, 2, 0, 1, 1, True),  # taps missing from a phase
]


@pytest.mark.parametrize("spec", DECONVS, ids=lambda s: "k{2}s{3}p{4}op{5}g{6}".format(*s))
@pytest.mark.parametrize("hw", [(5, 7), (8, 8), (1, 1)])
def test_subpixel_conv_equals_transposed_conv(spec: tuple, hw: tuple[int, int]) -> None:
    cin, cout, k, s, p, op, g, bias = spec
    torch.manual_seed(0)
    deconv = nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op, groups=g, bias=bias).eval()
    x = torch.randn(2, cin, *hw)
    with torch.no_grad():
        want, got = deconv(x), SubPixelConvTranspose2d(deconv)(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())


def test_subpixel_conv_has_no_transposed_conv_left() -> None:
    deconv = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    sub = SubPixelConvTranspose2d(deconv)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in sub.modules())
    assert sub.conv.kernel_size == (2, 2) and sub.conv.out_channels == 16


def test_subpixel_conv_refuses_dilation() -> None:
    with pytest.raises(ValueError, match="dilation"):
        SubPixelConvTranspose2d(nn.ConvTranspose2d(4, 4, 3, stride=2, dilation=2))


@pytest.mark.parametrize("pad", [(1, 1, 1, 1), (3, 3, 3, 3), (2, 1, 0, 3)])
def test_grouped_reflection_pad_is_exact(pad: tuple[int, int, int, int]) -> None:
    x = torch.randn(1, 3, 6, 7)
    assert torch.equal(ReflectionPadGrouped(pad)(x), F.pad(x, pad, mode="reflect"))


def test_nearest_shuffle_is_exact() -> None:
    x = torch.randn(2, 5, 4, 3)
    assert torch.equal(NearestUpsample2xShuffle(5)(x), F.interpolate(x, scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("name,overrides", [
    ("resnet_9blocks", {"ngf": 8}),
    ("resnet_6blocks", {"ngf": 8, "upsample": "nearest_conv"}),  # PyTorch-GAN layout
    ("mobile_w025", {"n_blocks": 2}),
])
def test_rewrite_keeps_outputs_and_the_original(name: str, overrides: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, **overrides).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rewritten, report = rewrite_for_litert(model)
    assert report.total > 0
    kinds = (nn.ConvTranspose2d, nn.ReflectionPad2d, nn.Upsample)
    assert not [m for m in rewritten.modules() if isinstance(m, kinds) and not isinstance(m, ReflectionPadGrouped)]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(rewritten(x), model(x), atol=1e-5)
    assert any(isinstance(m, kinds) for m in model.modules()), "the caller's model was changed"
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def _op(name: str, inputs: list[int], outputs: list[int]) -> dict:
    return {"op_name": name, "inputs": inputs, "outputs": outputs}


def test_delegation_counts_ops_inside_and_outside() -> None:
    # t0 -conv-> t2 -pad-> t3 -conv-> t5 -tanh-> t6; weights t1, t4. XNNPACK took both convs and the
    # tanh in two partitions; MIRROR_PAD stayed outside and split the graph.
    ops = [_op("CONV_2D", [0, 1], [2]), _op("MIRROR_PAD", [2, 7], [3]), _op("CONV_2D", [3, 4], [5]),
           _op("TANH", [5], [6]), _op("DELEGATE", [0, 1], [2]), _op("DELEGATE", [3, 4], [6])]
    report = report_from_ops(ops)
    assert (report.partitions, report.delegated_ops, report.undelegated_ops) == (2, 3, {"MIRROR_PAD": 1})
    assert not report.fully_delegated and "MIRROR_PAD x1" in report.summary()
    whole = report_from_ops([*ops[:4], _op("DELEGATE", [0, 1, 7, 4], [6])])
    assert whole.fully_delegated and whole.delegated_ops == whole.total_ops == 4


def test_delegation_without_a_delegate_counts_everything_outside() -> None:
    report = report_from_ops([_op("CONV_2D", [0, 1], [2]), _op("TANH", [2], [3])])
    assert report.backend == "none" and report.undelegated_ops == {"CONV_2D": 1, "TANH": 1}
