"""Parity: an artifact's outputs, run in its own runtime, against eager PyTorch fp32.

Compared in pixel space on [0, 1] values (both clipped to [0, 1], as an app clips bytes):
PSNR ``10 log10(1 / MSE)`` of the *worst* input, and the max abs error over all inputs.
Thresholds per precision are in :data:`THRESHOLDS_DB`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.export.images import psnr_db

THRESHOLDS_DB: dict[str, float] = {"fp32": 60.0, "int8": 30.0, "fp16": 40.0}
REFERENCE = "eager fp32"

Runner = Callable[[Path, torch.Tensor], torch.Tensor]  # (artifact, inputs (N,3,H,W)) -> outputs


class ParityError(MobileganError):
    """An artifact computes something else than the PyTorch model it came from."""

    def __init__(self, message: str, *, precision: str | None = None) -> None:
        super().__init__(message)
        self.precision = precision  # of the failing artifact, when known (e.g. "int8")


@dataclass(frozen=True)
class ParityResult:
    psnr_db: float  # worst input
    max_abs: float
    inputs: int
    threshold_db: float
    reference: str = REFERENCE

    @property
    def passed(self) -> bool:
        return self.psnr_db >= self.threshold_db

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "psnr_db": round(self.psnr_db, 2), "max_abs": float(f"{self.max_abs:.3g}"),
                "inputs": self.inputs, "threshold_db": self.threshold_db}

    def summary(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (f"PSNR {self.psnr_db:.1f} dB (>= {self.threshold_db:g}), max abs {self.max_abs:.2g} "
                f"on {self.inputs} inputs: {verdict}")


def threshold_for(precision: str) -> float:
    try:
        return THRESHOLDS_DB[precision]
    except KeyError:
        raise MobileganError(f"no parity threshold for precision {precision!r}") from None


@torch.no_grad()
def eager_outputs(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The reference: the [0, 1] wrapped eager model, fp32, one image at a time."""
    return torch.cat([model(inputs[i : i + 1]) for i in range(inputs.shape[0])])


def compare(actual: torch.Tensor, expected: torch.Tensor, *, precision: str) -> ParityResult:
    if actual.shape != expected.shape:
        raise ParityError(f"output shape {tuple(actual.shape)} differs from the reference {tuple(expected.shape)}")
    a = actual.detach().float().clamp(0, 1)
    e = expected.detach().float().clamp(0, 1)
    if not torch.isfinite(actual).all():
        return ParityResult(psnr_db=0.0, max_abs=float("inf"), inputs=a.shape[0], threshold_db=threshold_for(precision))
    mse = ((a - e) ** 2).flatten(1).mean(dim=1)  # per input
    return ParityResult(
        psnr_db=min(psnr_db(float(m)) for m in mse),
        max_abs=float((a - e).abs().max()),
        inputs=a.shape[0],
        threshold_db=threshold_for(precision),
    )


def check_artifact(path: Path, run: Runner, inputs: torch.Tensor, expected: torch.Tensor, *,
                   precision: str, label: str) -> ParityResult:
    """Run ``path`` with ``run`` and raise :class:`ParityError` when below the threshold."""
    result = compare(run(path, inputs), expected, precision=precision)
    if not result.passed:
        raise ParityError(f"{label}: parity check failed: {result.summary()}", precision=precision)
    return result
