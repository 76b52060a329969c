"""Which teacher family can learn the demo's colour grade: the measured root cause, as a property.

An InstanceNorm generator (the paper's) cannot see an RGB offset or a global gain of its input,
so it cannot learn a style that depends on them; the official ``--norm none`` can.
"""

from __future__ import annotations

import pytest
import torch

from mobilegan.models.registry import create_model
from mobilegan.train.config import TrainConfig
from mobilegan.errors import ConfigError


def _pair(norm: str, padding: str) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    g = create_model("resnet_6blocks", ngf=8, norm=norm, padding=padding).eval()  # PyTorch default init
    x = torch.rand(1, 3, 32, 32) * 1.4 - 0.7
    offset = torch.tensor([0.25, -0.1, 0.05]).view(1, 3, 1, 1)
    with torch.no_grad():
        return g(x), g(x + offset)


def test_instance_norm_teacher_cannot_see_a_colour_offset() -> None:
    a, b = _pair("instance", "reflect")
    assert (a - b).abs().max() < 1e-4


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_other_norms_see_a_colour_offset(norm: str) -> None:
    a, b = _pair(norm, "reflect")
    assert (a - b).abs().max() > 1e-3


def test_train_norm_override_builds_that_generator(tmp_path) -> None:
    cfg = TrainConfig(data_a=str(tmp_path), data_b=str(tmp_path), out=str(tmp_path / "o"), generator="resnet_6blocks",
                      norm="none", upsample="nearest_conv")
    model = create_model(cfg.generator, **cfg.generator_overrides())
    assert model.config.norm == "none" and model.config.upsample == "nearest_conv"
    disc = create_model(cfg.discriminator, **cfg.discriminator_overrides())  # --norm applies to D too, as officially
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in disc.modules())
    assert not any(isinstance(m, (torch.nn.InstanceNorm2d, torch.nn.BatchNorm2d)) for m in model.modules())
    with pytest.raises(ConfigError, match="--norm"):
        TrainConfig(data_a=str(tmp_path), data_b=str(tmp_path), out=str(tmp_path / "o"), norm="group")


def test_unnormalised_generator_init_keeps_the_signal() -> None:
    """With the paper's N(0, 0.02) and no norms the signal vanishes; init_model keeps it near 1 scale."""
    from mobilegan.train.init import init_model, init_weights

    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    paper = init_weights(create_model("resnet_6blocks", ngf=16, norm="none"))
    ours = init_model(create_model("resnet_6blocks", ngf=16, norm="none"))
    with torch.no_grad():
        paper_up2 = paper.forward_features(x)[1]["up2"].std()
        ours_feats = ours.forward_features(x)[1]
    assert paper_up2 < 1e-3
    assert all(0.05 < float(f.std()) < 5 for f in ours_feats.values())
    instance = init_model(create_model("resnet_6blocks", ngf=16))  # normalised: the paper's init
    assert float(instance.stem.conv.weight.detach().std()) == pytest.approx(0.02, rel=0.2)


def test_unnormalised_discriminator_init() -> None:
    from mobilegan.train.init import init_model

    torch.manual_seed(0)
    d = init_model(create_model("patchgan_16", norm="none"))
    with torch.no_grad():
        out = d(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert 0.05 < float(out.std()) < 20


def test_runs_saved_before_the_new_switches_still_resume(tmp_path) -> None:
    """A stored run without norm/upsample/global_skip used their defaults; only real changes are refused."""
    cfg = TrainConfig(data_a=str(tmp_path), data_b=str(tmp_path), out=str(tmp_path / "o"), steps=10)
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("norm", "upsample", "global_skip")}
    assert cfg.resume_mismatches(old) == []
    changed = TrainConfig(data_a=str(tmp_path), data_b=str(tmp_path), out=str(tmp_path / "o"), steps=10, norm="none")
    assert changed.resume_mismatches(old) == ["norm: None -> 'none'"]
