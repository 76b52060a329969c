"""The profiler reproduces the field's numbers and counts both MAC conventions correctly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mobilegan.models import create_model
from mobilegan.profile import parse_count, profile_model


def test_resnet_9blocks_matches_the_papers() -> None:
    prof = profile_model(create_model("resnet_9blocks"), 256)
    assert prof.params == 11_378_179
    assert round(prof.macs_compat / 1e9, 1) == 56.8
    assert round(prof.macs / 1e9, 1) == 49.6


def test_conv_transpose_conventions_by_hand() -> None:
    # 4x4 input, C_in 2 -> C_out 3, k3 s2: real = 16 px * 2*3*9; compat = 64 px * 2*3*9.
    m = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1))
    prof = profile_model(m, 4, in_channels=2)
    assert prof.macs == 16 * 2 * 3 * 9
    assert prof.macs_compat == 64 * 2 * 3 * 9


def test_depthwise_conv_counts_groups() -> None:
    m = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False))
    prof = profile_model(m, 10, in_channels=8)
    assert prof.macs == prof.macs_compat == 100 * 8 * 9
    assert prof.params == 8 * 9


def test_default_student_budget() -> None:
    prof = profile_model(create_model("mobile_w025"), 256)
    assert prof.macs_compat <= 1.4e9
    assert prof.params < 342_000  # smaller than GAN Compression's 0.342 M student


def test_layers_sum_to_total() -> None:
    prof = profile_model(create_model("mobile_w050"), 64)
    assert sum(layer.macs for layer in prof.layers) == prof.macs
    assert prof.layers[0].name == "stem.conv"


def test_profile_leaves_model_mode_alone() -> None:
    model = create_model("mobile_w0125").train()
    profile_model(model, 32)
    assert model.training


@pytest.mark.parametrize("text,value", [("1.4G", 1_400_000_000), ("800M", 800_000_000), ("12345", 12345), ("2.5 k", 2500)])
def test_parse_count(text: str, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["abc", "-1G", "0"])
def test_parse_count_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_count(text)


def test_macs_scale_with_area() -> None:
    m = create_model("mobile_w0125")
    assert profile_model(m, 64).macs == 4 * profile_model(m, 32).macs
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("name,overrides", [("mobile_w0125", {}), ("mobile_w0125", {"upsample": "bilinear_conv"}),
                                            ("resnet_6blocks", {"ngf": 8})])
def test_receptive_field_bounds_the_measured_one(name: str, overrides: dict) -> None:
    from mobilegan.inference.tiling import frozen_instance_stats
    from mobilegan.profile import receptive_field

    torch.manual_seed(0)
    model = create_model(name, **overrides).eval()
    x = torch.randn(1, 3, 256, 256)
    with frozen_instance_stats(model, x, 1024):  # whole-image statistics: what tiling sees
        x.requires_grad_(True)
        model(x)[0, :, 128, 128].sum().backward()
    touched = (x.grad[0].abs().sum(0) > 0).nonzero()
    measured = int((touched.max(0).values - touched.min(0).values).max()) + 1
    rf = receptive_field(model)
    assert measured <= rf <= measured + 8, (measured, rf)
