"""Property tests over the generator config space (hypothesis).

- Every valid config builds, runs at every multiple-of-4 size, keeps the [-1, 1] range, exposes the
  features it advertises, and round-trips through a checkpoint (.pt and .safetensors) exactly.
- A few random valid configs export to ExecuTorch (XNNPACK) and match eager PyTorch.
- Invalid configs are rejected at construction with a ConfigError that names the bad field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mobilegan.checkpoints import load_generator_checkpoint, save_generator
from mobilegan.errors import ConfigError
from mobilegan.models import GeneratorConfig, build_model
from mobilegan.models.config import NORMS, PADDINGS, SPACE_TO_DEPTH, UPSAMPLES

SIZES = st.sampled_from([8, 12, 16, 20, 28, 36])  # 8 = the CLI minimum (a 2x2 bottleneck)


@st.composite
def generator_configs(draw: st.DrawFn, max_blocks: int = 3) -> GeneratorConfig:
    return GeneratorConfig(
        ngf=draw(st.sampled_from([4, 8, 12, 16])),
        n_blocks=draw(st.integers(0, max_blocks)),
        width=draw(st.sampled_from([1.0, 0.5, 0.25, 0.125, 0.75])),
        depthwise=draw(st.booleans()),
        norm=draw(st.sampled_from(NORMS)),
        padding=draw(st.sampled_from(PADDINGS)),
        upsample=draw(st.sampled_from(UPSAMPLES)),
        conv_bias=draw(st.booleans()),
        global_skip=draw(st.booleans()),
        space_to_depth=draw(st.sampled_from(SPACE_TO_DEPTH)),
    )


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _inputs(size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _built(config: GeneratorConfig) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(config)
    # Non-trivial BatchNorm statistics, so that a round trip that lost them would show.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=generator_configs(), size=SIZES, safetensors=st.booleans())
@example(config=GeneratorConfig(ngf=8, n_blocks=1, norm="instance", padding="reflect"), size=8, safetensors=False)
def test_every_valid_config_builds_runs_and_round_trips(config: GeneratorConfig, size: int, safetensors: bool,
                                                        tmp_path: Path) -> None:
    model = _built(config)
    x = _inputs(size)
    with torch.no_grad():
        out, feats = model.forward_features(x)
        again = model(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all() and out.abs().max() <= 1.0
    assert torch.equal(out, again)
    assert list(feats) == list(model.feature_names())
    channels = model.feature_channels()
    for name, feat in feats.items():
        assert feat.shape[0] == 2 and feat.shape[1] == channels[name], name

    path = tmp_path / f"g_{abs(hash((config, size)))}{'.safetensors' if safetensors else '.pt'}"
    save_generator(model, path)
    loaded = load_generator_checkpoint(path)
    assert loaded.config == config and loaded.layout == "mobilegan"
    with torch.no_grad():
        assert torch.equal(loaded.model(x), out)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# At most one residual block: lowering time grows with the graph, and further blocks repeat the same ops.
@given(config=generator_configs(max_blocks=1), size=st.sampled_from([16, 24]))
def test_random_configs_export_to_executorch_with_parity(config: GeneratorConfig, size: int, tmp_path: Path) -> None:
    from mobilegan.export.executorch import build_program, run_pte, serialize
    from mobilegan.export.wrap import wrap_for_export

    model = _built(config)
    lowered = build_program(model, size=(size, size), precision="fp32")
    pte = serialize(lowered, tmp_path / f"g_{abs(hash((config, size)))}.pte")
    images = (_inputs(size, seed=1) + 1) / 2  # exported graphs take [0, 1] pixels
    with torch.no_grad():
        expected = wrap_for_export(model)(images)
    got = run_pte(pte, images)
    assert got.shape == expected.shape
    max_abs = float((got - expected).abs().max())
    mse = float(((got.clamp(0, 1) - expected.clamp(0, 1)) ** 2).mean())
    psnr = 200.0 if mse == 0 else 10 * math.log10(1 / mse)
    assert max_abs < 1e-3 and psnr > 60, (config, size, max_abs, psnr)


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"ngf": 0}, "ngf"),
    ({"ngf": -8}, "ngf"),
    ({"n_blocks": -1}, "n_blocks"),
    ({"width": 0.0}, "width"),
    ({"width": -0.5}, "width"),
    ({"width": 9.0}, "width"),
    ({"width": float("nan")}, "width"),
    ({"norm": "group"}, "norm"),
    ({"padding": "circular"}, "padding"),
    ({"upsample": "pixelshuffle"}, "upsample"),
    ({"dropout": 1.0}, "dropout"),
    ({"dropout": -0.1}, "dropout"),
    ({"ngf": 16.5}, "ngf"),
    ({"n_blocks": 2.0}, "n_blocks"),
    ({"ngf": "64"}, "ngf"),
    ({"width": "half"}, "width"),
    ({"depthwise": "yes"}, "depthwise"),
    ({"in_channels": 0}, "in_channels"),
]


@pytest.mark.parametrize("fields, named", INVALID, ids=[f"{k}={v!r}" for (d, _) in INVALID for k, v in d.items()])
def test_invalid_configs_are_rejected_at_construction(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        GeneratorConfig(**fields)
    message = str(info.value)
    assert named in message and "\n" not in message, message
    # the same through a checkpoint's config dict (hand-edited or foreign files)
    with pytest.raises(ConfigError, match=named):
        GeneratorConfig.from_dict({**GeneratorConfig().to_dict(), **fields})


@settings(max_examples=40, deadline=None)
@given(ngf=st.integers(-4, 0) | st.integers(1, 64), n_blocks=st.integers(-3, 4),
       width=st.floats(-1.0, 10.0, allow_nan=False))
def test_numeric_ranges_are_enforced_exactly(ngf: int, n_blocks: int, width: float) -> None:
    valid = ngf >= 1 and n_blocks >= 0 and 0.0 < width <= 8.0
    try:
        config = GeneratorConfig(ngf=ngf, n_blocks=n_blocks, width=width)
    except ConfigError:
        assert not valid
    else:
        assert valid
        assert all(config.channels(m) >= 1 for m in (1, 2, 4))
