"""Export rewrites keep outputs unchanged (max abs <= 1e-5) and leave the caller's model alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mobilegan.export.rewrite import (
    AffineInstanceNormDecomposed,
    NearestUpsample2x,
    ReflectionPadSlices,
    rewrite_for_xnnpack,
)
from mobilegan.models import InstanceNormDecomposed, create_model

TOL = 1e-5


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_rewrite_is_exact(affine: bool) -> None:
    torch.manual_seed(0)
    norm = nn.InstanceNorm2d(6, affine=affine)
    if affine:
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
    model, report = rewrite_for_xnnpack(nn.Sequential(norm))
    assert isinstance(model[0], AffineInstanceNormDecomposed if affine else InstanceNormDecomposed)
    assert report.replaced == {"InstanceNorm2d": 1}
    x = torch.randn(2, 6, 12, 20) * 3 + 1
    assert _max_abs(model(x), norm(x)) <= TOL


@pytest.mark.parametrize("padding", [1, 3, (1, 2, 3, 0)])
def test_reflection_pad_rewrite_is_exact(padding: int | tuple[int, int, int, int]) -> None:
    pad = nn.ReflectionPad2d(padding)
    model, _ = rewrite_for_xnnpack(nn.Sequential(pad))
    assert isinstance(model[0], ReflectionPadSlices)
    x = torch.randn(1, 4, 9, 11)
    y = model(x)
    assert y.shape == pad(x).shape
    assert _max_abs(y, pad(x)) == 0.0  # pure data movement: bit-exact


def test_nearest_upsample_rewrite_is_exact() -> None:
    seq = nn.Sequential()
    seq.up = nn.Upsample(scale_factor=2, mode="nearest")
    seq.conv = nn.Conv2d(5, 3, 3, padding=1)
    model, report = rewrite_for_xnnpack(seq)
    assert isinstance(model.up, NearestUpsample2x)
    assert report.replaced == {"Upsample": 1}
    x = torch.randn(1, 5, 7, 6)
    assert _max_abs(model.up(x), seq.up(x)) == 0.0
    assert _max_abs(model(x), seq(x)) <= TOL


def test_other_upsampling_is_left_alone() -> None:
    seq = nn.Sequential()
    seq.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)  # XNNPACK takes it
    seq.conv = nn.Conv2d(2, 2, 1)
    _, report = rewrite_for_xnnpack(seq)
    assert report.total == 0


@pytest.mark.parametrize(
    "overrides",
    [dict(ngf=8), dict(ngf=8, upsample="nearest_conv", n_blocks=3)],
    ids=["official_teacher", "pytorch_gan_teacher"],
)
def test_teacher_rewrite_is_equivalent(overrides: dict) -> None:
    torch.manual_seed(0)
    teacher = create_model("resnet_9blocks", **overrides).eval()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    rewritten, report = rewrite_for_xnnpack(teacher)
    assert report.replaced["InstanceNorm2d"] > 0 and report.replaced["ReflectionPad2d"] > 0
    if overrides.get("upsample") == "nearest_conv":
        assert report.replaced["Upsample"] == 2
    kinds = {type(m) for m in rewritten.modules()}
    assert not kinds & {nn.InstanceNorm2d, nn.ReflectionPad2d, nn.Upsample}
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert _max_abs(rewritten(x), teacher(x)) <= TOL
    # The caller's model is untouched.
    assert any(isinstance(m, nn.InstanceNorm2d) for m in teacher.modules())
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())


def test_equivalence_check_can_fail() -> None:
    """A wrong 'rewrite' (zero padding instead of reflection) is caught by the same tolerance."""
    x = torch.randn(1, 3, 8, 8)
    assert _max_abs(nn.ZeroPad2d(2)(x), nn.ReflectionPad2d(2)(x)) > TOL
