"""Every registry preset: shapes, range, finiteness, gradients, torch.export, width scaling."""

from __future__ import annotations

import pytest
import torch

from mobilegan.errors import ConfigError
from mobilegan.models import (
    DEFAULT_STUDENT,
    DiscriminatorConfig,
    GeneratorConfig,
    InstanceNormDecomposed,
    ResnetGenerator,
    create_model,
    get_config,
    list_models,
    make_divisible,
)
from mobilegan.profile import count_params

GENERATORS = list_models("generator", arch="resnet")  # U-Net presets: tests/test_unet.py
SIZE = 32


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(2, 3, SIZE, SIZE) * 2 - 1


def test_registry_has_required_presets() -> None:
    names = set(list_models())
    assert {"resnet_9blocks", "resnet_6blocks", "patchgan_70"} <= names
    # The default student is a registered generator with no convolution at full resolution, and the
    # previous default stays available by name.
    assert DEFAULT_STUDENT in GENERATORS and get_config(DEFAULT_STUDENT).space_to_depth > 1
    assert "mobile_w025" in GENERATORS and get_config("mobile_w025").space_to_depth == 1
    widths = {get_config(n).width for n in GENERATORS if get_config(n).depthwise}
    assert {1.0, 0.5, 0.25} <= widths


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shape_range_grad(name: str, image: torch.Tensor) -> None:
    model = create_model(name)
    model.train()
    out = model(image)
    assert out.shape == image.shape
    assert torch.isfinite(out).all()
    assert out.min() >= -1 and out.max() <= 1
    out.mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads), "every parameter must receive a gradient"
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.slow
def test_generator_torch_export(name: str) -> None:
    model = create_model(name).eval()
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    ep = torch.export.export(model, (x,))
    torch.testing.assert_close(ep.module()(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", GENERATORS)
def test_forward_features_names_and_output(name: str, image: torch.Tensor) -> None:
    model = create_model(name).eval()
    out, feats = model.forward_features(image)
    assert list(feats) == model.feature_names()
    torch.testing.assert_close(out, model(image))
    for key, ch in model.feature_channels().items():
        assert feats[key].shape[1] == ch, key
    assert feats["down2"].shape[-1] == SIZE // 4


def test_discriminator_patch_output() -> None:
    d = create_model("patchgan_70")
    out = d(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1, 6, 6)
    assert count_params(d) == 2_764_737  # the paper's 70x70 PatchGAN with InstanceNorm


@pytest.mark.parametrize(("name", "field"), [("patchgan_16", 16), ("patchgan_34", 34), ("patchgan_70", 70)])
def test_patchgan_receptive_field_matches_its_name(name: str, field: int) -> None:
    """Backprop one output patch through a copy without norms: the input area it sees is field x field."""
    cfg = get_config(name)
    d = create_model(name, norm="none") if cfg.norm != "none" else create_model(name)
    x = torch.zeros(1, 3, 96, 96, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == field


def test_params_grow_with_width() -> None:
    counts = [count_params(create_model("mobile_w025", width=w)) for w in (0.125, 0.25, 0.5, 1.0)]
    assert counts == sorted(counts) and len(set(counts)) == 4


def test_width_multiplier_rounds_to_eight() -> None:
    cfg = GeneratorConfig(ngf=64, width=0.3)
    assert all(cfg.channels(m) % 8 == 0 for m in (1, 2, 4))
    assert GeneratorConfig(ngf=64, width=0.01).channels(1) == 8
    assert make_divisible(19.2) == 24 and make_divisible(3) == 8
    # width 1.0 keeps any ngf exactly (foreign checkpoints)
    assert GeneratorConfig(ngf=20).channels(2) == 40


def test_depthwise_blocks_use_grouped_convs() -> None:
    model = create_model("mobile_w050")
    convs = [m for m in model.blocks.modules() if isinstance(m, torch.nn.Conv2d)]
    assert any(c.groups == c.in_channels > 1 for c in convs)
    assert all(c.kernel_size in ((3, 3), (1, 1)) for c in convs)


@pytest.mark.parametrize("upsample", ["transpose", "nearest_conv", "bilinear_conv"])
@pytest.mark.parametrize("norm", ["instance", "instance_decomposed", "batch", "none"])
@pytest.mark.parametrize("padding", ["reflect", "zero"])
def test_every_switch_combination_builds(upsample: str, norm: str, padding: str) -> None:
    model = create_model("mobile_w0125", upsample=upsample, norm=norm, padding=padding).eval()
    assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_decomposed_instance_norm_matches_instance_norm() -> None:
    x = torch.randn(2, 5, 9, 7) * 3 + 1
    ref = torch.nn.InstanceNorm2d(5)(x)
    torch.testing.assert_close(InstanceNormDecomposed(5)(x), ref, atol=1e-5, rtol=1e-5)


def test_config_validation_errors() -> None:
    with pytest.raises(ConfigError, match="unknown norm"):
        GeneratorConfig(norm="group")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown model 'resnet_9block'.*did you mean 'resnet_9blocks'"):
        create_model("resnet_9block")
    with pytest.raises(ConfigError, match="unknown config field"):
        create_model("resnet_9blocks", colour=True)
    with pytest.raises(ConfigError, match="unknown GeneratorConfig field"):
        GeneratorConfig.from_dict({"ngf": 8, "bogus": 1})
    with pytest.raises(ConfigError):
        DiscriminatorConfig(n_layers=0)


def test_config_round_trip() -> None:
    cfg = get_config("mobile_w025")
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    assert isinstance(ResnetGenerator(cfg).config, GeneratorConfig)


def test_global_skip_starts_near_identity_and_old_configs_load(image: torch.Tensor) -> None:
    torch.manual_seed(0)
    from mobilegan.train.init import init_weights

    skip = init_weights(create_model("resnet_6blocks", ngf=8, global_skip=True)).eval()
    plain = init_weights(create_model("resnet_6blocks", ngf=8)).eval()
    with torch.no_grad():
        y_skip, y_plain = skip(image), plain(image)
        y_feat, _ = skip.forward_features(image)
    assert (y_skip - image).abs().mean() < 0.5 * (y_plain - image).abs().mean()
    assert y_skip.min() >= -1 and y_skip.max() <= 1
    torch.testing.assert_close(y_feat, y_skip)
    # Configs saved before the field existed load with the paper's behaviour (no skip).
    old = get_config("resnet_6blocks").to_dict()
    del old["global_skip"]
    assert GeneratorConfig.from_dict(old).global_skip is False
    with pytest.raises(ConfigError, match="global_skip"):
        GeneratorConfig(global_skip=True, out_channels=1)
