"""int8 activation ranges: percentile clipping inside the graph, full range at the image ends."""

from __future__ import annotations

import pytest
import torch

from mobilegan.export.executorch import export_graph, prepare_module
from mobilegan.export.int8_ranges import (
    POLICIES,
    ClippingObserver,
    RangePolicy,
    calibrate,
    choose_int8,
    keep_image_ranges,
    policies_named,
    quantization_config,
)
from mobilegan.models.registry import create_model
from mobilegan.models.config import DEFAULT_STUDENT


def _observer(quantile: float = 1e-3) -> ClippingObserver:
    return ClippingObserver(dtype=torch.int8, quant_min=-128, quant_max=127, qscheme=torch.per_tensor_affine,
                            eps=2**-12, quantile=quantile)


def _tailed(n: int = 100_000) -> torch.Tensor:
    x = torch.randn(n, generator=torch.Generator().manual_seed(0))
    x[:20] = 80.0  # rare outliers, 0.02 % of the values
    return x.reshape(1, 1, -1, 100)


def test_clipping_ignores_rare_outliers() -> None:
    obs = _observer()
    obs(_tailed())
    lo, hi = obs.clipped_range()
    assert float(obs.max_val) == 80.0  # the plain min/max still sees the outliers
    assert 2.5 < float(hi) < 4.0 and -4.0 < float(lo) < -2.5  # ~ the 0.1 / 99.9 percentiles of N(0, 1)
    clipped_scale = float(obs.calculate_qparams()[0])
    obs.clip = False
    full_scale = float(obs.calculate_qparams()[0])
    assert full_scale > 10 * clipped_scale


def test_clip_off_gives_the_observed_range() -> None:
    obs = _observer()
    obs.clip = False
    obs(_tailed())
    lo, hi = obs.clipped_range()
    assert float(hi) == 80.0 and float(lo) == float(_tailed().min())


def test_sample_pool_stays_bounded_over_many_calls() -> None:
    obs = _observer()
    for i in range(40):
        obs(torch.randn(1, 8, 128, 128, generator=torch.Generator().manual_seed(i)))
    assert sum(s.numel() for s in obs._samples) <= 1 << 20
    lo, hi = obs.clipped_range()
    assert -4.0 < float(lo) < -2.5 and 2.5 < float(hi) < 4.0


def _graph(**overrides: object) -> torch.fx.GraphModule:
    torch.manual_seed(0)
    module = prepare_module(create_model(DEFAULT_STUDENT, **overrides).eval())
    return export_graph(module, torch.rand(1, 3, 32, 32)).module()


def _tanh_observer(prepared: torch.fx.GraphModule) -> ClippingObserver:
    tanh = next(n for n in prepared.graph.nodes if n.op == "call_function" and "tanh" in str(n.target))
    return next(getattr(prepared, str(u.target)) for u in tanh.users if u.op == "call_module")


@pytest.mark.parametrize("global_skip", [False, True])
@pytest.mark.slow  # calibrates and converts int8 graphs: `make test-fast` leaves it out
def test_image_ends_keep_their_full_range(global_skip: bool) -> None:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    prepared = prepare_pt2e(_graph(global_skip=global_skip), XNNPACKQuantizer().set_global(quantization_config()))
    changed = keep_image_ranges(prepared)
    observers = {n.name: getattr(prepared, str(n.target)) for n in prepared.graph.nodes
                 if n.op == "call_module" and isinstance(getattr(prepared, str(n.target)), ClippingObserver)}
    nodes = {n.name: n for n in prepared.graph.nodes}
    first = next(n for n in prepared.graph.nodes if n.op == "placeholder")
    input_obs = [u.name for u in first.users if u.name in observers]
    output_obs = nodes["output"].args[0]
    output_obs = output_obs[0] if isinstance(output_obs, (tuple, list)) else output_obs
    assert input_obs and all(not observers[name].clip for name in input_obs)
    assert not observers[output_obs.name].clip
    assert not _tanh_observer(prepared).clip  # the residual branch of a global skip too
    # Only the ends: the input, tanh's output and the [0, 1] wrapper after it; the rest are clipped.
    assert 2 <= changed <= 16  # a global skip also keeps the input chain it adds back
    assert sum(obs.clip for obs in observers.values()) >= len(observers) - changed
    assert any(obs.clip for obs in observers.values())


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.slow  # calibrates and converts int8 graphs: `make test-fast` leaves it out
def test_the_input_is_quantized_over_the_whole_image_range(policy: RangePolicy) -> None:
    """Calibration photos without a pure white or black pixel must not narrow the input's range: every
    byte of a photo is an exact int8 value (scale 1/255), and a white pixel is not clipped."""
    calib = 0.1 + 0.8 * torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(4))  # 0.1 .. 0.9
    converted = calibrate(_graph(), calib, policy)
    quant = [n for n in converted.graph.nodes if n.op == "call_function" and "quantize_per_tensor" in str(n.target)
             and n.args[0].op == "placeholder"]
    assert quant, "no quantize op on the input"
    for node in quant:
        scale, zero_point = float(node.args[1]), int(node.args[2])
        assert zero_point == -128 and scale == pytest.approx(1 / 255, rel=1e-6)
    white = torch.ones(1, 3, 32, 32)
    q = torch.ops.quantized_decomposed.quantize_per_tensor.default(white, scale, zero_point, -128, 127, torch.int8)
    assert int(q.max()) == 127  # not clipped at the calibration photos' brightest value


@pytest.mark.slow  # calibrates and converts int8 graphs: `make test-fast` leaves it out
def test_choose_int8_keeps_the_closest_policy() -> None:
    graph = _graph()
    calib = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    choice = choose_int8(graph, calib, POLICIES)
    assert set(choice.calib_psnr_db) == {p.name for p in POLICIES}
    assert choice.calib_psnr_db[choice.policy.name] == max(choice.calib_psnr_db.values())
    assert all(db > 20 for db in choice.calib_psnr_db.values())
    with torch.no_grad():
        ref, out = graph(calib[:1]), choice.module(calib[:1])
    assert out.shape == ref.shape and not torch.equal(out, ref)  # a quantized program, not the fp32 graph


@pytest.mark.slow  # calibrates and converts int8 graphs: `make test-fast` leaves it out
def test_choose_int8_with_one_policy_uses_it() -> None:
    only = (RangePolicy("histogram only", None),)
    choice = choose_int8(_graph(), torch.rand(2, 3, 32, 32), only)
    assert choice.policy is only[0] and list(choice.calib_psnr_db) == ["histogram only"]


@pytest.mark.slow  # calibrates and converts int8 graphs: `make test-fast` leaves it out
def test_executorch_int8_tells_later_targets_its_policy() -> None:
    from mobilegan.export.executorch import quantize_int8

    calib = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    module = prepare_module(create_model(DEFAULT_STUDENT, n_blocks=1).eval())
    chosen: dict[str, str] = {}
    quantize_int8(export_graph(module, calib[:1]), calib, chosen)
    assert chosen["int8_ranges"] in {p.name for p in POLICIES}
    # LiteRT's int8 of the same job then calibrates with that policy alone
    assert policies_named(chosen["int8_ranges"]) == tuple(p for p in POLICIES if p.name == chosen["int8_ranges"])
    assert policies_named(None) == POLICIES and policies_named("no such policy") == POLICIES
