"""Generators as TensorFlow/Keras compute them (issue 23), on mobilegan's side: TF's ``padding="same"``,
the Keras norms, and that such teachers export and translate like any other.

Exactness against Keras and TensorFlow themselves (files they wrote, their own forward pass) is in
tests/test_keras_teachers.py and tests/test_tf_checkpoint.py; here the PyTorch pieces are checked
against the formulas TF documents, so a failure points at the module rather than the loader.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers_models import lively
from mobilegan.errors import ConfigError
from mobilegan.inference.tiling import TileConfig, translate_tensor
from mobilegan.models import GeneratorConfig, build_model
from mobilegan.models.layers import AffineInstanceNorm, GroupNormOne, tf_same_padding


def _keras_resnet(norm: str, *, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = lively(build_model(GeneratorConfig(ngf=8, n_blocks=2, norm=norm, norm_eps=1e-3, conv_bias=False,
                                               same_padding="tf")), 64)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (AffineInstanceNorm, GroupNormOne)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model.eval()


def test_same_padding_follows_tensorflows_formula() -> None:
    # TF: out = ceil(n / s); total = max((out - 1) * s + k - n, 0); before = total // 2.
    for k in (1, 2, 3, 4, 5, 7):
        n = 32
        out = -(-n // 2)
        total = max((out - 1) * 2 + k - n, 0)
        assert tf_same_padding(k, 2) == (total // 2, total - total // 2)
    model = _keras_resnet("instance_affine")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        h = model.stem(x)
        conv = model.down1.conv
        want = F.conv2d(F.pad(h, (0, 1, 0, 1)), conv.weight, stride=2)  # TF: the extra column/row at the end
        assert torch.allclose(model.down1.norm(want), model.down1.norm(conv(model.down1.pad(h))))
        up = model.up1.conv  # ConvTranspose2d k3 s2 p0: TF keeps the first 2n rows/columns
        z = torch.rand(1, up.in_channels, 8, 8)
        assert model.up1.crop(up(z)).shape[-1] == 16
        assert torch.equal(model.up1.crop(up(z)), up(z)[..., :16, :16])


def test_keras_norms_match_their_definitions() -> None:
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    gn = GroupNormOne(6, eps=1e-3)
    ref = nn.GroupNorm(1, 6, eps=1e-3)
    inorm = AffineInstanceNorm(6, eps=1e-3)
    ref_in = nn.InstanceNorm2d(6, eps=1e-3, affine=True)
    with torch.no_grad():
        for a, b in ((gn, ref), (inorm, ref_in)):
            a.weight.uniform_(0.5, 1.5)
            a.bias.normal_()
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
        assert torch.allclose(gn(x), ref(x), atol=1e-5)
        assert torch.allclose(inorm(x), ref_in(x), atol=1e-5)
        one = torch.randn(1, 6, 1, 1)
        assert torch.allclose(inorm(one), inorm.bias.view(1, -1, 1, 1))  # TF's innermost 1x1 level: the offset


def test_tf_padding_is_for_teachers_only() -> None:
    with pytest.raises(ConfigError):
        GeneratorConfig(same_padding="tf", space_to_depth=4)
    with pytest.raises(ConfigError):
        GeneratorConfig(same_padding="keras")


@pytest.mark.parametrize("norm", ["group1", "instance_affine"])
@pytest.mark.slow
def test_keras_resnet_is_one_xnnpack_segment(norm: str) -> None:
    pytest.importorskip("executorch")
    from mobilegan.export.executorch import build_program

    lowered = build_program(_keras_resnet(norm), size=(32, 32), precision="fp32")
    assert lowered.delegation.to_dict() == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


@pytest.mark.parametrize("norm", ["group1", "instance_affine"])
def test_large_photos_translate_as_the_whole_image(norm: str) -> None:
    """A one-group GroupNorm runs whole; an affine InstanceNorm tiles with exact whole-image statistics."""
    model = _keras_resnet(norm)
    low = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(1))
    x = F.interpolate(low, size=(160, 192), mode="bilinear", align_corners=False) * 2 - 1
    with torch.no_grad():
        whole = model(x)
        tiled = translate_tensor(model, x, TileConfig(tile=96, stats_max_side=64))
    assert tiled.shape == x.shape
    assert float(10 * torch.log10(4.0 / ((whole - tiled) ** 2).mean())) >= 60
