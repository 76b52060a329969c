"""Scores against the demo's known ground truth: ``stylize(held-out A)``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from mobilegan.demo.photos import DemoData
from mobilegan.distill.evaluate import load_folder
from mobilegan.metrics import psnr, ssim


@dataclass(frozen=True)
class TruthScore:
    psnr_db: float
    ssim: float
    identity_psnr_db: float  # doing nothing: input vs ground truth
    identity_ssim: float
    images: int

    @property
    def gain_db(self) -> float:
        return self.psnr_db - self.identity_psnr_db

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gain_db": round(self.gain_db, 3)}


def held_out(data: DemoData, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out inputs and their ground truths, (N, 3, size, size) in [-1, 1]."""
    return load_folder(data.test_a, size, name="held-out A"), load_folder(data.test_b_truth, size, name="ground truth")


@torch.no_grad()
def score_outputs(outputs: torch.Tensor, inputs: torch.Tensor, truth: torch.Tensor) -> TruthScore:
    return TruthScore(
        psnr_db=round(float(psnr(outputs, truth).mean()), 3),
        ssim=round(float(ssim(outputs, truth).mean()), 4),
        identity_psnr_db=round(float(psnr(inputs, truth).mean()), 3),
        identity_ssim=round(float(ssim(inputs, truth).mean()), 4),
        images=int(inputs.shape[0]),
    )


@torch.no_grad()
def score_generator(model: nn.Module, data: DemoData, size: int) -> TruthScore:
    inputs, truth = held_out(data, size)
    model.eval()
    outputs = torch.cat([model(inputs[i : i + 8]) for i in range(0, len(inputs), 8)])
    return score_outputs(outputs, inputs, truth)
