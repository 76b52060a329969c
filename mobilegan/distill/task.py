"""The distillation :class:`~mobilegan.train.loop.TrainTask`: what one step is; the shared loop does the rest.

Per step: the frozen teacher (eval, no_grad) translates a batch of A images, or the batch
brings the teacher's whole-image targets (``"T"``, :mod:`mobilegan.distill.targets`); the student is
trained to match its output (L1, optional SSIM), its features at the named taps through 1x1
adapters (MSE), and optionally to fool a PatchGAN that sees B images (or teacher outputs)
as real.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.checkpoints import save_generator
from mobilegan.distill.context_range import calibrate_context_range
from mobilegan.distill.data import step_loader
from mobilegan.distill.losses import LossWeights, gan_discriminator_loss, gan_generator_loss, output_loss
from mobilegan.distill.taps import FeatureAdapters
from mobilegan.models.generator import ResnetGenerator
from mobilegan.train import (
    DistContext,
    autocast,
    linear_decay_scheduler,
    make_grad_scaler,
    save_image_grid,
    unwrap,
    wrap_ddp,
)

log = logging.getLogger(__name__)

STUDENT_FILE = "student.pt"


class StudentWithAdapters(nn.Module):
    """Student + adapters in one module, so DDP syncs both with one forward per step."""

    def __init__(self, student: ResnetGenerator, adapters: FeatureAdapters) -> None:
        super().__init__()
        self.student = student
        self.adapters = adapters

    def forward(self, x: torch.Tensor, t_feats: dict[str, torch.Tensor], context_image: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out, feats = self.student.forward_features(x, context_image=context_image)
        return out, self.adapters(feats, t_feats)


class DistillTask:
    def __init__(self, *, teacher: nn.Module, student: ResnetGenerator, adapters: FeatureAdapters,
                 discriminator: nn.Module | None, dataset: Any, sample_images: torch.Tensor, weights: LossWeights,
                 lr: float, total_steps: int, batch_size: int, ctx: DistContext, amp: bool, workers: int,
                 student_meta: dict[str, Any]) -> None:
        self.ctx = ctx
        dev = ctx.device
        self.teacher = teacher.to(dev).eval().requires_grad_(False)
        self.net = wrap_ddp(StudentWithAdapters(student, adapters).to(dev), ctx)
        self.disc = wrap_ddp(discriminator.to(dev), ctx) if discriminator is not None else None
        self.dataset = dataset
        self.sample_images = sample_images
        self.weights = weights
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.amp = amp
        self.workers = workers
        self.student_meta = student_meta
        decay = total_steps // 2
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.5, 0.999))
        self.sched = linear_decay_scheduler(self.opt, constant_steps=total_steps - decay, decay_steps=decay)
        self.scaler = make_grad_scaler(dev, amp)
        if self.disc is not None:
            self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=lr / 10, betas=(0.5, 0.999))
            self.sched_d = linear_decay_scheduler(self.opt_d, constant_steps=total_steps - decay, decay_steps=decay)
            self.scaler_d = make_grad_scaler(dev, amp)

    @property
    def student(self) -> ResnetGenerator:
        return unwrap(self.net).student  # type: ignore[return-value]

    def batches(self, start_step: int) -> Iterable[Any]:
        return step_loader(self.dataset, start_step=start_step, total_steps=self.total_steps,
                           batch_size=self.batch_size, rank=self.ctx.rank, world_size=self.ctx.world_size,
                           workers=self.workers)

    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        dev = self.ctx.device
        real_a = (batch["A"] if isinstance(batch, dict) else batch).to(dev, non_blocking=True)
        real_b = batch["B"].to(dev, non_blocking=True) if isinstance(batch, dict) and "B" in batch else None
        self.net.train()
        whole = batch["W"].to(dev, non_blocking=True) if isinstance(batch, dict) and "W" in batch else None
        if isinstance(batch, dict) and "T" in batch:  # targets the teacher computed on the whole image (targets.py)
            t_out, t_feats = batch["T"].to(dev, non_blocking=True), {}
        else:
            with torch.no_grad(), autocast(dev, self.amp):
                t_out, t_feats = self.teacher.forward_features(real_a)
                taps = {tap.teacher for tap in unwrap(self.net).adapters.taps}
                t_feats = {k: v for k, v in t_feats.items() if k in taps}
        # Teacher features are keyed by teacher name; the adapters look them up by tap.teacher.
        with autocast(dev, self.amp):
            s_out, feat = self.net(real_a, t_feats, whole)
            recon = output_loss(s_out.float(), t_out.float(), ssim_weight=self.weights.ssim,
                                tone_weight=self.weights.tone)
            loss = self.weights.recon * recon + self.weights.feat * feat
            metrics = {"recon": recon.item(), "feat": feat.item()}
            if self.disc is not None:
                self.disc.requires_grad_(False)
                g_adv = gan_generator_loss(self.disc, s_out)
                loss = loss + self.weights.gan * g_adv
                metrics["g_adv"] = g_adv.item()
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        if self.disc is not None:
            self.disc.requires_grad_(True)
            with autocast(dev, self.amp):
                d_loss = gan_discriminator_loss(self.disc, real_b if real_b is not None else t_out, s_out.detach())
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(d_loss).backward()
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
            self.sched_d.step()
            metrics["d"] = d_loss.item()
        metrics["loss"] = loss.item()
        metrics["lr"] = self.opt.param_groups[0]["lr"]
        return metrics

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"net": unwrap(self.net).state_dict(), "opt": self.opt.state_dict(),
                                 "sched": self.sched.state_dict(), "scaler": self.scaler.state_dict()}
        if self.disc is not None:
            state.update(disc=unwrap(self.disc).state_dict(), opt_d=self.opt_d.state_dict(),
                         sched_d=self.sched_d.state_dict(), scaler_d=self.scaler_d.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        unwrap(self.net).load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.scaler.load_state_dict(state["scaler"])
        if self.disc is not None:
            unwrap(self.disc).load_state_dict(state["disc"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.sched_d.load_state_dict(state["sched_d"])
            self.scaler_d.load_state_dict(state["scaler_d"])

    @torch.no_grad()
    def write_samples(self, path: Path, step: int) -> None:
        from mobilegan.distill.evaluate import generate

        x = self.sample_images
        t_out = generate(self.teacher, x, device=self.ctx.device)
        s_out = generate(self.student, x, device=self.ctx.device)
        save_image_grid([[x[i], t_out[i], s_out[i]] for i in range(len(x))], path)

    def save_outputs(self, out_dir: Path, step: int) -> list[Path]:
        # The context clamp's range, measured with the weights being saved (context_range.py).
        calibrate_context_range(self.student, self.dataset, self.ctx.device)
        meta = {**self.student_meta, "step": step}
        return [save_generator(self.student, out_dir / STUDENT_FILE, meta=meta)]
