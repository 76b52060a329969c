"""One way to say "BatchNorm with each image's own statistics" (issue 32): the norm kind ``batch_image``,
in both generator families. U-Net configs saved before said norm ``batch`` plus ``batch_stats``; ResNet
configs already said ``batch_image``. Checkpoints and model cards of either old form still load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from helpers_foreign import randomize_norm_stats
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.checkpoints.native import make_payload
from mobilegan.errors import ConfigError
from mobilegan.export.model_card import ModelCard, read_card, write_card
from mobilegan.inference.exported import describe_config
from mobilegan.models import create_model
from mobilegan.models.config import GeneratorConfig, batch_norm_kind, generator_config_from_dict
from mobilegan.models.unet import UnetGenerator
from mobilegan.models.unet_config import UnetConfig
from mobilegan.utils.atomic import atomic_torch_save

LEVELS = 5  # 32 px inputs


def _x(seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _old_unet_dict(norm: str, batch_stats: str) -> dict[str, Any]:
    """A U-Net config dict as mobilegan wrote it before ``batch_image`` was a U-Net norm: every one
    carried ``batch_stats`` ("image" by default, whatever the norm)."""
    new = UnetConfig(num_downs=LEVELS, ngf=4, norm="instance" if norm == "instance" else "batch").to_dict()
    assert "batch_stats" not in new
    return {**new, "norm": norm, "batch_stats": batch_stats}


# (old norm, old batch_stats) -> today's norm
OLD_UNET_FORMS = [(("batch", "image"), "batch_image"), (("batch", "running"), "batch"),
                  (("instance", "image"), "instance")]


@pytest.mark.parametrize("old,norm", OLD_UNET_FORMS)
def test_old_unet_config_dicts_read_as_todays(old: tuple[str, str], norm: str) -> None:
    cfg = generator_config_from_dict(_old_unet_dict(*old))
    assert isinstance(cfg, UnetConfig) and cfg.norm == norm
    assert cfg.normalises_per_image == (norm != "batch")
    assert generator_config_from_dict(cfg.to_dict()) == cfg  # and today's form round-trips


def test_old_unet_config_with_a_bad_batch_stats_is_refused() -> None:
    with pytest.raises(ConfigError, match="batch_stats"):
        UnetConfig.from_dict(_old_unet_dict("batch", "sometimes"))
    with pytest.raises(ConfigError, match="batch_stats"):
        batch_norm_kind("sometimes")


def test_both_families_say_it_the_same_way() -> None:
    resnet, unet = GeneratorConfig(norm="batch_image"), UnetConfig(num_downs=LEVELS, norm="batch_image")
    assert resnet.normalises_per_image and unet.normalises_per_image and not resnet.local
    assert not GeneratorConfig(norm="batch").normalises_per_image
    assert not UnetConfig(num_downs=LEVELS, norm="batch").normalises_per_image
    assert "batch_stats" not in resnet.to_dict() and "batch_stats" not in unet.to_dict()
    assert (batch_norm_kind("image"), batch_norm_kind("running")) == ("batch_image", "batch")


@pytest.mark.parametrize("old,norm", OLD_UNET_FORMS[:2])
def test_a_unet_checkpoint_of_the_old_form_loads_with_the_same_maths(tmp_path: Path, old: tuple[str, str],
                                                                      norm: str) -> None:
    torch.manual_seed(0)
    model = UnetGenerator(UnetConfig(num_downs=LEVELS, ngf=4, norm=norm)).eval()  # type: ignore[arg-type]
    randomize_norm_stats(model)
    payload = make_payload(model, kind="generator")
    payload["config"] = _old_unet_dict(*old)  # as an older mobilegan saved it
    loaded = load_generator_checkpoint(atomic_torch_save(payload, tmp_path / "old.pt"))
    assert loaded.config == model.config
    other = UnetGenerator(model.config.with_overrides(norm="batch" if norm == "batch_image" else "batch_image")).eval()
    other.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(loaded.model(_x()), model(_x()))
        assert (loaded.model(_x()) - other(_x())).abs().max() > 1e-2  # the two statistics do differ here


def test_a_resnet_checkpoint_of_the_old_form_loads(tmp_path: Path) -> None:
    """ResNets already said ``batch_image``: that form is today's."""
    torch.manual_seed(0)
    model = create_model("resnet_6blocks", ngf=4, n_blocks=1, norm="batch_image", conv_bias=False).eval()
    randomize_norm_stats(model)
    payload = make_payload(model, kind="generator")
    assert payload["config"]["norm"] == "batch_image"
    loaded = load_generator_checkpoint(atomic_torch_save(payload, tmp_path / "old.pt"))
    assert loaded.config == model.config and loaded.config.normalises_per_image
    with torch.no_grad():
        assert torch.equal(loaded.model(_x()), model(_x()))


def _card(config: dict[str, Any]) -> ModelCard:
    return ModelCard(name="old", source={"checkpoint": "old.pt", "sha256": "0" * 64}, config=config, params=1,
                     macs=1, macs_compat=1, size=(32, 32))


@pytest.mark.parametrize("config,whole", [
    (_old_unet_dict("batch", "image"), True),
    (_old_unet_dict("batch", "running"), True),  # a U-Net's innermost level sees the whole image anyway
    ({**GeneratorConfig(ngf=4, n_blocks=1, norm="batch_image").to_dict()}, True),
    ({**GeneratorConfig(ngf=4, n_blocks=1, norm="batch").to_dict()}, False),
])
def test_model_cards_of_either_old_form_still_load(tmp_path: Path, config: dict[str, Any], whole: bool) -> None:
    write_card(tmp_path, _card(config))
    facts = describe_config(read_card(tmp_path).config)
    assert facts is not None, "the card's config no longer reads (translate would fall back to probing)"
    assert facts.whole == whole
