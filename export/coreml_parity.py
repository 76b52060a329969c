"""Parity of a saved ``.mlpackage`` against eager PyTorch, on any platform.

* macOS (``sys.platform == "darwin"``): Core ML itself, ``MLModel.predict`` (engine ``coreml``).
  This path cannot run on Linux and is not exercised by the test suite here.
* elsewhere: the package is read back into its MIL program with its weights and executed
  by our NumPy reference interpreter (engine ``mil-reference``); fp16 programs run in fp16.

Comparison is in pixel space: outputs are clipped to 0..255 (what image output does), then
PSNR = 10 log10(1 / MSE) of the worst input and max |diff| on [0, 1] values, as
docs/model-json.md defines and ``mobilegan.export.parity`` computes for the other targets.

Thresholds (dB): fp32 60 (only float rounding separates the engines; measured 100+ dB),
fp16 40 (the app self-test's ``min_psnr_db.fp16``; fp16 storage costs about 20-30 dB below
fp32, so 40 dB still leaves headroom while catching a wrong op or weight, which falls
below 25 dB), compressed weights 30 (palettized / int8 weights change the function
slightly by design).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from mobilegan.utils.progress import progress_bar

from mobilegan.errors import MobileganError

log = logging.getLogger(__name__)

THRESHOLDS_DB = {"fp32": 60.0, "fp16": 40.0, "compressed": 30.0}
PSNR_CAP_DB = 200.0  # identical outputs: report a finite number (JSON has no infinity)
# An op is kept in fp32 when its fp32 values on the calibration images reach
# 65504 / FP16_HEADROOM: other images may be brighter or more textured than the probes.
FP16_HEADROOM = 4.0
FP16_SUFFIX = "_cast_fp16"
ENGINES = ("auto", "coreml", "mil-reference")


class CoreMLParityError(MobileganError):
    """The exported program does not compute what PyTorch computes (within the threshold)."""


@dataclass(frozen=True)
class ParityResult:
    engine: str
    psnr_db: float
    max_abs: float
    inputs: int
    threshold_db: float
    nonfinite_ops: tuple[str, ...] = ()
    reference: str = "eager fp32"

    @property
    def passed(self) -> bool:
        return self.psnr_db >= self.threshold_db and not self.nonfinite_ops

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["nonfinite_ops"] = list(self.nonfinite_ops)
        out["passed"] = self.passed
        return out


def threshold_for(precision: str, compressed: bool) -> float:
    return THRESHOLDS_DB["compressed"] if compressed else THRESHOLDS_DB[precision]


def parity_images(size: tuple[int, int], count: int = 2, seed: int = 0) -> np.ndarray:
    """Deterministic photo-like probes, (count, 1, 3, H, W) float32 holding 0..255 integers.

    Smooth colour fields (low-resolution noise upsampled) plus edges and fine noise: they
    exercise both flat regions and high-frequency content, like real photographs.
    """
    h, w = size
    gen = torch.Generator().manual_seed(seed)
    images = []
    for i in range(count):
        coarse = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=gen)
        smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
        bars = ((torch.arange(w) // max(1, w // (4 + 2 * i))) % 2).float().view(1, 1, 1, w)
        fine = torch.rand(1, 3, h, w, generator=gen)
        img = 0.6 * smooth + 0.25 * bars + 0.15 * fine
        images.append(torch.round(img.clamp(0, 1) * 255.0))
    return torch.stack(images).numpy().astype(np.float32)


@torch.no_grad()
def eager_outputs(generator: nn.Module, images: np.ndarray) -> np.ndarray:
    """Eager fp32 PyTorch outputs in 0..255 for (count, 1, 3, H, W) 0..255 images."""
    from mobilegan.export.coreml import wrap_pixels_255

    wrapped = wrap_pixels_255(generator).float().cpu()
    return np.stack([wrapped(torch.from_numpy(img)).numpy() for img in images])


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR on [0, 1] values of two 0..255 arrays (both clipped to 0..255 first)."""
    x = np.clip(np.asarray(a, dtype=np.float64), 0, 255) / 255.0
    y = np.clip(np.asarray(b, dtype=np.float64), 0, 255) / 255.0
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return 0.0
    mse = float(np.mean((x - y) ** 2))
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10.0 * np.log10(1.0 / mse))


def max_abs_01(a: np.ndarray, b: np.ndarray) -> float:
    x = np.clip(np.nan_to_num(np.asarray(a, dtype=np.float64), nan=1e9), 0, 255)
    y = np.clip(np.nan_to_num(np.asarray(b, dtype=np.float64), nan=1e9), 0, 255)
    return float(np.abs(x - y).max() / 255.0)


def resolve_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise MobileganError(f"unknown parity engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "coreml" if sys.platform == "darwin" else "mil-reference"
    if engine == "coreml" and sys.platform != "darwin":
        raise MobileganError("the Core ML engine needs macOS; on Linux use the mil-reference engine")
    return engine


def _run_mil(path: Path, images: np.ndarray) -> tuple[np.ndarray, tuple[str, ...], dict[str, float]]:
    """Interpreter outputs, the ops that produced non-finite values, and the fp16 hazard ops."""
    from mobilegan.export.mil_interpreter import MilInterpreter, load_mlpackage_program

    interp = MilInterpreter(load_mlpackage_program(path))
    if len(interp.input_names) != 1 or len(interp.output_names) != 1:
        raise MobileganError(f"{path}: expected one input and one output, got {interp.input_names} -> {interp.output_names}")
    outputs, bad, hazards = [], set(), {}
    for img in progress_bar(images, desc=f"MIL reference {path.name}", unit="image", leave=False,
                            disable=len(images) < 2):
        result = interp.run({interp.input_names[0]: img}, trace=True)
        outputs.append(result.outputs[interp.output_names[0]].astype(np.float32))
        bad.update(f"{t.op_type}:{t.name}" for t in result.trace if t.overflowed)
        for name, peak in fp16_hazards(result.trace).items():
            hazards[name] = max(hazards.get(name, 0.0), peak)
    return np.stack(outputs), tuple(sorted(bad)), hazards


def fp16_hazards(trace: Sequence[Any], *, headroom: float = FP16_HEADROOM) -> dict[str, float]:
    """Ops that overflowed fp16 or came within ``headroom`` of its limit: ``{base op name: peak}``.

    Names are those of the fp32 graph (the fp16 pass appends ``_cast_fp16``), so they can be
    passed back to the converter's op selector.
    """
    from mobilegan.export.mil_interpreter import FP16_MAX

    limit = FP16_MAX / headroom
    out: dict[str, float] = {}
    for t in trace:
        if t.op_type == "cast" or not (t.overflowed or t.peak >= limit):
            continue
        name = t.name[: -len(FP16_SUFFIX)] if t.name.endswith(FP16_SUFFIX) else t.name
        out[name] = max(out.get(name, 0.0), float("inf") if t.overflowed else t.peak)
    return out


def _run_coreml(path: Path, images: np.ndarray) -> np.ndarray:  # pragma: no cover - macOS only
    import coremltools as ct
    from PIL import Image

    model = ct.models.MLModel(str(path))
    desc = model.get_spec().description
    in_name, out_name = desc.input[0].name, desc.output[0].name
    image_in = desc.input[0].type.WhichOneof("Type") == "imageType"
    outputs = []
    for img in progress_bar(images, desc=f"Core ML {path.name}", unit="image", leave=False,
                            disable=len(images) < 2):
        feed: Any = Image.fromarray(img[0].transpose(1, 2, 0).astype(np.uint8), "RGB") if image_in else img
        out = model.predict({in_name: feed})[out_name]
        if isinstance(out, Image.Image):
            out = np.asarray(out.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)[None]
        outputs.append(np.asarray(out, dtype=np.float32))
    return np.stack(outputs)


def check_parity(
    package: str | os.PathLike[str],
    generator: nn.Module,
    *,
    threshold_db: float,
    images: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    engine: str = "auto",
) -> ParityResult:
    """Run the saved package and eager PyTorch on the same images and compare them."""
    return check_package(package, generator, threshold_db=threshold_db, images=images, size=size, engine=engine)[0]


def check_package(
    package: str | os.PathLike[str],
    generator: nn.Module,
    *,
    threshold_db: float,
    images: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    engine: str = "auto",
) -> tuple[ParityResult, dict[str, float]]:
    """:func:`check_parity` plus the fp16 hazard ops the reference interpreter saw (``{}`` on Core ML)."""
    package = Path(package)
    engine = resolve_engine(engine)
    if images is None:
        if size is None:
            raise MobileganError("check_parity needs images or a size")
        images = parity_images(size)
    reference = eager_outputs(generator, images)
    if engine == "coreml":  # pragma: no cover - macOS only
        got, bad, hazards = _run_coreml(package, images), (), {}
        reference = np.round(np.clip(reference, 0, 255))  # image output is 8-bit
    else:
        got, bad, hazards = _run_mil(package, images)
    result = ParityResult(
        engine=engine,
        psnr_db=round(min(psnr_db(g, r) for g, r in zip(got, reference)), 2),  # the worst input
        max_abs=max_abs_01(got, reference),
        inputs=len(images),
        threshold_db=threshold_db,
        nonfinite_ops=bad,
    )
    log.info("parity %s (%s): %.2f dB, max abs %.2e", package.name, engine, result.psnr_db, result.max_abs)
    return result, hazards


def require_parity(result: ParityResult, label: str) -> None:
    if result.passed:
        return
    why = f"non-finite values from {', '.join(result.nonfinite_ops[:3])}" if result.nonfinite_ops else (
        f"{result.psnr_db:.1f} dB < {result.threshold_db:.0f} dB"
    )
    raise CoreMLParityError(f"{label}: parity failed against eager PyTorch ({result.engine}): {why}")
