"""Distillation losses: output (L1 + optional SSIM), features (see :mod:`taps`), adversarial.

The adversarial term is least-squares GAN, as CycleGAN uses: the discriminator pushes real
patches to 1 and student patches to 0, the student pushes its patches to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mobilegan.metrics import ssim


@dataclass(frozen=True)
class LossWeights:
    recon: float = 10.0
    feat: float = 1.0
    gan: float = 0.0
    ssim: float = 0.0  # weight of (1 - SSIM) inside the output term; 0 = plain L1
    tone: float = 0.0  # weight of the L1 between low-passed outputs inside the output term (tone_loss)

    def __post_init__(self) -> None:
        for name in ("recon", "feat", "gan", "ssim", "tone"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss weight {name} must be >= 0")


TONE_POOL = 8  # the tone term compares outputs averaged over 8 x 8 pixel cells


def tone_loss(student_out: torch.Tensor, teacher_out: torch.Tensor) -> torch.Tensor:
    """L1 between the outputs' local averages (8 x 8 cells): their colour and brightness, without texture.

    Per-pixel L1 spends its gradient on edges and texture; an InstanceNorm teacher's per-photo tone
    (a whole sketch rendered whiter or pinker) is a small, smooth error on every pixel that it
    under-weights. Averaging first leaves exactly that error."""
    pool = min(TONE_POOL, *student_out.shape[-2:])
    return F.l1_loss(F.avg_pool2d(student_out, pool), F.avg_pool2d(teacher_out, pool))


def output_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, *, ssim_weight: float = 0.0,
                tone_weight: float = 0.0) -> torch.Tensor:
    """L1 between outputs, plus ``ssim_weight * (1 - SSIM)`` (images >= 11 px) and
    ``tone_weight * tone_loss`` when asked."""
    loss = F.l1_loss(student_out, teacher_out)
    if ssim_weight > 0:
        loss = loss + ssim_weight * (1.0 - ssim(student_out, teacher_out).mean())
    if tone_weight > 0:
        loss = loss + tone_weight * tone_loss(student_out, teacher_out)
    return loss


def gan_generator_loss(discriminator: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    pred = discriminator(fake)
    return F.mse_loss(pred, torch.ones_like(pred))


def gan_discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    pred_real = discriminator(real)
    pred_fake = discriminator(fake.detach())
    return 0.5 * (F.mse_loss(pred_real, torch.ones_like(pred_real)) + F.mse_loss(pred_fake, torch.zeros_like(pred_fake)))
