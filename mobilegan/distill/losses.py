"""Distillation losses: output (L1 + optional SSIM), features (see :mod:`taps`), adversarial.

The adversarial term is least-squares GAN, as CycleGAN uses: the discriminator pushes real
patches to 1 and student patches to 0, the student pushes its patches to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mobilegan.distill.metrics import ssim


@dataclass(frozen=True)
class LossWeights:
    recon: float = 10.0
    feat: float = 1.0
    gan: float = 0.0
    ssim: float = 0.0  # weight of (1 - SSIM) inside the output term; 0 = plain L1

    def __post_init__(self) -> None:
        for name in ("recon", "feat", "gan", "ssim"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss weight {name} must be >= 0")


def output_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, *, ssim_weight: float = 0.0) -> torch.Tensor:
    """L1 between outputs, plus ``ssim_weight * (1 - SSIM)`` when asked (images >= 11 px)."""
    loss = F.l1_loss(student_out, teacher_out)
    if ssim_weight > 0:
        loss = loss + ssim_weight * (1.0 - ssim(student_out, teacher_out).mean())
    return loss


def gan_generator_loss(discriminator: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    pred = discriminator(fake)
    return F.mse_loss(pred, torch.ones_like(pred))


def gan_discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    pred_real = discriminator(real)
    pred_fake = discriminator(fake.detach())
    return 0.5 * (F.mse_loss(pred_real, torch.ones_like(pred_real)) + F.mse_loss(pred_fake, torch.zeros_like(pred_fake)))
