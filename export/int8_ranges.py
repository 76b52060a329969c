"""Activation ranges for static int8: percentile-clipped, except at the image ends.

XNNPACK quantizes activations per tensor, so one range serves every channel and pixel of a
feature map. The quantizer's stock observer (``HistogramObserver``) and a plain min/max keep
rare large values, and a residual stream of depthwise blocks grows such tails as distillation
goes on: the default student after 5000 steps lost parity at 27-30 dB int8-vs-fp32 with either.
Clipping each intermediate range to the 0.1th-99.9th percentile of the calibration values
(:data:`CLIP_QUANTILE`) gave 41 dB on the held-out images (BENCHMARKS.md, "int8 activation
ranges"). The graph's input image is quantized over exactly [0, 1], whatever the calibration
images hold (:func:`fix_image_input_range`: scale 1/255, so every byte of a photo is an exact int8
value; a range observed on calibration images without a pure white clipped brighter pixels), and
the output chain (tanh -> [0, 1]) keeps its full observed range, so highlights and shadows are never
clipped. A model that prefers other ranges (a randomly
initialised one can) gets them: :func:`choose_int8` tries each of :data:`POLICIES` and keeps the
int8 program whose worst calibration image is closest to fp32.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx
from torchao.quantization.pt2e import MinMaxObserver

from mobilegan.export.parity import compare, eager_outputs

# Fraction of calibration values left outside each clipped range, per tail (measured: 1e-2 33.4 dB,
# 3e-3 40.0 dB, 1e-3 41.3 dB, 3e-4 37.4 dB, 1e-4 34.1 dB, 1e-5 29.4 dB on the demo student).
CLIP_QUANTILE = 1e-3
SAMPLES_PER_CALL = 1 << 16  # values kept from each calibration batch, per observer
MAX_SAMPLES = 1 << 20  # the pool is halved (at random) when it grows past this

# Ops between the generator's final tanh and the graph output: value-preserving or elementwise
# with constants (the [-1, 1] -> [0, 1] wrapper, a global skip's clamp). The walk back from the
# output stops at any other op, the tanh included.
_OUTPUT_CHAIN_OPS = {"mul", "add", "sub", "div", "clamp", "hardtanh", "pixel_shuffle"}


class ClippingObserver(MinMaxObserver):  # type: ignore[misc]
    """A min/max observer that also keeps a bounded random sample of the values it sees and,
    when ``clip`` is on, returns qparams for the ``quantile`` / ``1 - quantile`` range of them."""

    def __init__(self, *args: Any, quantile: float = CLIP_QUANTILE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quantile = quantile
        self.clip = True
        self._samples: list[torch.Tensor] = []
        self._kept = 0
        self._calls = 0

    def forward(self, x_orig: torch.Tensor) -> torch.Tensor:
        out = super().forward(x_orig)
        if x_orig.numel() == 0:
            return out
        flat = x_orig.detach().flatten().float()
        gen = torch.Generator().manual_seed(self._calls)
        self._calls += 1
        if flat.numel() > SAMPLES_PER_CALL:
            flat = flat[torch.randint(0, flat.numel(), (SAMPLES_PER_CALL,), generator=gen)]
        self._samples.append(flat.cpu())
        self._kept += flat.numel()
        if self._kept > MAX_SAMPLES:
            pool = torch.cat(self._samples)
            pool = pool[torch.randperm(pool.numel(), generator=gen)[: MAX_SAMPLES // 2]]
            self._samples, self._kept = [pool], pool.numel()
        return out

    def clipped_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high) this observer quantizes to: the clipped range, or the full one."""
        if not self.clip or not self._samples:
            return self.min_val, self.max_val
        pool = torch.cat(self._samples)
        lo, hi = torch.quantile(pool, torch.tensor([self.quantile, 1.0 - self.quantile]))
        return lo.to(self.min_val), hi.to(self.max_val)

    def calculate_qparams(self) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        lo, hi = self.clipped_range()
        return self._calculate_qparams(lo, hi)


@dataclass(frozen=True)
class Int8Flavor:
    """Whose PT2E quantizer annotates the graph: ExecuTorch's XNNPACK quantizer (the default) or
    another runtime's (LiteRT's, :mod:`mobilegan.export.litert`). The range policies are the same."""

    name: str
    stock_config: Callable[[], Any]  # the quantizer's own symmetric config (per-channel weights)
    quantizer: Callable[[Any], Any]  # config -> a Quantizer with that config set globally
    fold_quantize: bool = True  # convert_pt2e: fold weight quantization into int8 constants


def _xnnpack_config() -> Any:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config

    return get_symmetric_quantization_config(is_per_channel=True)


def _xnnpack_quantizer(config: Any) -> Any:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer

    return XNNPACKQuantizer().set_global(config)


XNNPACK = Int8Flavor("xnnpack", _xnnpack_config, _xnnpack_quantizer)


def quantization_config(quantile: float | None = CLIP_QUANTILE, flavor: Int8Flavor = XNNPACK) -> Any:
    """The flavor's symmetric config (per-channel int8 weights, per-tensor int8 activations) with
    :class:`ClippingObserver` for the activations; ``quantile=None``: the stock config as it is."""
    base = flavor.stock_config()
    if quantile is None:
        return base
    act = dataclasses.replace(base.input_activation,
                              observer_or_fake_quant_ctr=ClippingObserver.with_args(eps=2**-12, quantile=quantile))
    return dataclasses.replace(base, input_activation=act, output_activation=act)


def _observer(graph_module: fx.GraphModule, node: Any) -> ClippingObserver | None:
    if isinstance(node, fx.Node) and node.op == "call_module":
        mod = getattr(graph_module, str(node.target), None)
        if isinstance(mod, ClippingObserver):
            return mod
    return None


def _op_name(node: fx.Node) -> str:
    return getattr(node.target, "__name__", str(node.target)).split(".")[0]


def keep_image_ranges(prepared: fx.GraphModule) -> int:
    """Turn clipping off for the observers of the input image and of the output chain (back
    from the graph output through elementwise ops to the final tanh, both branches of a global
    skip included). Returns how many observers were changed."""
    changed: set[int] = set()

    def unclip(node: Any) -> None:
        obs = _observer(prepared, node)
        if obs is not None and id(obs) not in changed:
            obs.clip = False
            changed.add(id(obs))

    todo: list[fx.Node] = []
    for node in prepared.graph.nodes:
        if node.op == "placeholder":
            for user in node.users:
                unclip(user)
        elif node.op == "output":
            todo.extend(node.all_input_nodes)
    seen: set[fx.Node] = set()
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        unclip(cur)
        if cur.op == "call_module" or (cur.op == "call_function" and _op_name(cur) in _OUTPUT_CHAIN_OPS):
            todo.extend(cur.all_input_nodes)
    return len(changed)


IMAGE_RANGE = (0.0, 1.0)  # the exported graph's input: bytes / 255 (mobilegan.export.wrap)


def fix_image_input_range(prepared: fx.GraphModule) -> int:
    """Give the graph input's observers the image range [0, 1] itself (every policy): a min/max observer
    that has already seen 0 and 1, so calibration images in [0, 1] cannot narrow it. Returns how many
    observers were replaced."""
    from torchao.quantization.pt2e import ObserverBase

    replaced = 0
    for node in prepared.graph.nodes:
        if node.op != "placeholder":
            continue
        for user in node.users:
            obs = getattr(prepared, str(user.target), None) if user.op == "call_module" else None
            if not isinstance(obs, ObserverBase):
                continue
            fixed = MinMaxObserver(dtype=obs.dtype, qscheme=obs.qscheme, quant_min=obs.quant_min,
                                   quant_max=obs.quant_max, eps=float(getattr(obs, "eps", torch.finfo(torch.float32).eps)))
            fixed(torch.tensor(IMAGE_RANGE))
            setattr(prepared, str(user.target), fixed)
            replaced += 1
    return replaced


@dataclass(frozen=True)
class RangePolicy:
    """How activation ranges are set: percentile-clipped (``quantile``) or the quantizer's stock
    ``HistogramObserver`` (``quantile=None``)."""

    name: str
    quantile: float | None


# Tried in order on every int8 export; the one whose worst calibration image is closest to fp32
# wins (the parity check also judges the worst image). How much clipping suits a model varies: the
# demo's 5000-step student did best at 99.9 (41 dB held out, against 30 dB for the histogram), its
# 1250 x 16 student lost one image to it (25 dB) and did best at 99.997 (worst image 35 dB), and a
# randomly initialised model can prefer the histogram, so every one stays a candidate.
POLICIES: tuple[RangePolicy, ...] = (
    RangePolicy("percentile 99.9", CLIP_QUANTILE),
    RangePolicy("percentile 99.99", 1e-4),
    RangePolicy("percentile 99.997", 3e-5),
    RangePolicy("histogram (XNNPACK default)", None),
)


@dataclass(frozen=True)
class Int8Choice:
    module: fx.GraphModule
    policy: RangePolicy
    calib_psnr_db: dict[str, float]  # policy name -> worst calibration image's int8-vs-fp32 PSNR


def calibrate(graph: fx.GraphModule, calib: torch.Tensor, policy: RangePolicy,
              flavor: Int8Flavor = XNNPACK) -> fx.GraphModule:
    """Prepare ``graph`` for ``policy``, run the calibration images through it, convert."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from mobilegan.utils.progress import progress_bar

    prepared = prepare_pt2e(copy.deepcopy(graph), flavor.quantizer(quantization_config(policy.quantile, flavor)))
    if policy.quantile is not None:
        keep_image_ranges(prepared)
    fix_image_input_range(prepared)
    with torch.no_grad():
        for i in progress_bar(range(calib.shape[0]), desc=f"int8 calibration ({policy.name})", unit="img",
                              leave=False):
            prepared(calib[i : i + 1])
    return convert_pt2e(prepared, fold_quantize=flavor.fold_quantize)


def policies_named(name: str | None) -> tuple[RangePolicy, ...]:
    """Just the policy called ``name`` (one chosen before, for the same generator), else all of them."""
    named = tuple(p for p in POLICIES if p.name == name)
    return named or POLICIES


def choose_int8(graph: fx.GraphModule, calib: torch.Tensor,
                policies: tuple[RangePolicy, ...] = POLICIES, flavor: Int8Flavor = XNNPACK) -> Int8Choice:
    """The converted int8 graph of the policy whose worst ``calib`` image is closest to ``graph``
    (fp32), judged as the parity check judges (:func:`mobilegan.export.parity.compare`)."""
    reference = eager_outputs(graph, calib)
    best: tuple[float, RangePolicy, fx.GraphModule] | None = None
    scores: dict[str, float] = {}
    for policy in policies:
        converted = calibrate(graph, calib, policy, flavor)
        scores[policy.name] = round(compare(eager_outputs(converted, calib), reference, precision="int8").psnr_db, 2)
        if best is None or scores[policy.name] > best[0]:
            best = (scores[policy.name], policy, converted)
    assert best is not None, "no range policy given"
    return Int8Choice(module=best[2], policy=best[1], calib_psnr_db=scores)
