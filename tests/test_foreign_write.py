"""Writing our paper-layout generators as official / PyTorch-GAN state dicts (the teachers users bring).

The written dict must load *strictly* into the independent reference networks of
``helpers_foreign`` (the other code bases' layouts) and compute the same picture, and it must
round-trip through our own loader.
"""

from __future__ import annotations

import pytest
import torch

from helpers_foreign import OfficialResnetGenerator, PyTorchGanGenerator, randomize_norm_stats
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.checkpoints.foreign_write import to_foreign_state_dict
from mobilegan.errors import ConfigError
from mobilegan.models.registry import create_model


def _ours(**kw: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("resnet_6blocks", ngf=8, **kw).eval()


@pytest.mark.parametrize("layout,kw,ref", [
    ("official", {}, lambda: OfficialResnetGenerator(ngf=8, n_blocks=6)),
    ("official", {"dropout": 0.5}, lambda: OfficialResnetGenerator(ngf=8, n_blocks=6, dropout=True)),
    ("official", {"norm": "batch", "conv_bias": False}, lambda: OfficialResnetGenerator(ngf=8, n_blocks=6, batch_norm=True)),
    ("pytorch_gan", {"upsample": "nearest_conv"}, lambda: PyTorchGanGenerator(ngf=8, n_blocks=6)),
])
def test_written_state_dict_is_the_foreign_network(layout: str, kw: dict, ref, tmp_path) -> None:
    ours = _ours(**kw)
    randomize_norm_stats(ours)
    state = to_foreign_state_dict(ours, layout)
    theirs = ref().eval()
    theirs.load_state_dict(state, strict=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (theirs(x) - ours(x)).abs().max() < 1e-5
    torch.save(state, tmp_path / "g.pth")
    loaded = load_generator_checkpoint(tmp_path / "g.pth", batch_stats="running")  # BatchNorm: eval-mode maths
    assert loaded.layout == layout
    with torch.no_grad():
        assert (loaded.model(x) - ours(x)).abs().max() < 1e-5


@pytest.mark.parametrize("layout,kw", [
    ("official", {"upsample": "nearest_conv"}),  # the official ResnetGenerator upsamples by ConvTranspose2d
    ("pytorch_gan", {}),  # PyTorch-GAN upsamples by nearest + conv
    ("official", {"space_to_depth": 2}),
    ("official", {"depthwise": True}),
])
def test_layouts_the_other_code_cannot_hold_are_refused(layout: str, kw: dict) -> None:
    with pytest.raises(ConfigError, match="only the paper's layout"):
        to_foreign_state_dict(_ours(**kw), layout)
