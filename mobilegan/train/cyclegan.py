"""The CycleGAN objective (Zhu et al. 2017) as a :class:`mobilegan.train.loop.TrainTask`.

G_AB: A -> B and G_BA: B -> A; D_A judges domain A, D_B domain B (PatchGAN). Per step:

    generators:      LSGAN(D_B(G_AB(a)), 1) + LSGAN(D_A(G_BA(b)), 1)
                     + lambda * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)           (cycle, L1)
                     + lambda * lambda_id * (|G_BA(a) - a| + |G_AB(b) - b|)           (identity)
    discriminators:  0.5 * (LSGAN(D(real), 1) + LSGAN(D(pool(fake)), 0))             per D

Both generators sit in one module and both discriminators in another, so that under DDP
each wrapped module runs exactly one forward per backward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from mobilegan.checkpoints import save_generator
from mobilegan.data.datasets import UnpairedDataset
from mobilegan.data.sampling import StepBatchSampler
from mobilegan.models.registry import create_model
from mobilegan.train.config import TrainConfig
from mobilegan.train.distributed import DistContext, autocast, make_grad_scaler, unwrap, wrap_ddp
from mobilegan.train.init import init_model
from mobilegan.train.pool import ImagePool
from mobilegan.train.samples import save_image_grid
from mobilegan.train.schedule import apply_scheduled_lr, linear_decay_scheduler


class GeneratorPair(nn.Module):
    def __init__(self, g_ab: nn.Module, g_ba: nn.Module) -> None:
        super().__init__()
        self.g_ab = g_ab
        self.g_ba = g_ba

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor, identity: bool) -> dict[str, torch.Tensor]:
        fake_b = self.g_ab(real_a)
        fake_a = self.g_ba(real_b)
        out = {"fake_b": fake_b, "rec_a": self.g_ba(fake_b), "fake_a": fake_a, "rec_b": self.g_ab(fake_a)}
        if identity:
            out["idt_a"] = self.g_ba(real_a)  # G_BA should leave A images alone
            out["idt_b"] = self.g_ab(real_b)
        return out


class DiscriminatorPair(nn.Module):
    def __init__(self, d_a: nn.Module, d_b: nn.Module) -> None:
        super().__init__()
        self.d_a = d_a
        self.d_b = d_b

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.d_a(images_a), self.d_b(images_b)


def lsgan(pred: torch.Tensor, target_real: bool) -> torch.Tensor:
    target = torch.ones_like(pred) if target_real else torch.zeros_like(pred)
    return F.mse_loss(pred.float(), target.float())


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


@dataclass(frozen=True)
class Schedule:
    total_steps: int
    constant_steps: int
    decay_steps: int


class CycleGANTask:
    """Models, optimizers, schedulers and pools of one CycleGAN run on one rank."""

    def __init__(self, cfg: TrainConfig, data: UnpairedDataset, ctx: DistContext, schedule: Schedule, *,
                 samples_a: Sequence[torch.Tensor] = (), samples_b: Sequence[torch.Tensor] = (),
                 meta: dict[str, Any] | None = None) -> None:
        self.cfg, self.data, self.ctx, self.schedule = cfg, data, ctx, schedule
        self.samples_a, self.samples_b = list(samples_a), list(samples_b)
        self.meta = dict(meta or {})
        dev = ctx.device
        overrides = cfg.generator_overrides()
        g_ab = init_model(create_model(cfg.generator, **overrides))
        g_ba = init_model(create_model(cfg.generator, **overrides))
        d_a = init_model(create_model(cfg.discriminator, **cfg.discriminator_overrides()))
        d_b = init_model(create_model(cfg.discriminator, **cfg.discriminator_overrides()))
        self.gens = wrap_ddp(GeneratorPair(g_ab, g_ba).to(dev), ctx)
        self.discs = wrap_ddp(DiscriminatorPair(d_a, d_b).to(dev), ctx)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.gens.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.discs.parameters(), lr=cfg.lr, betas=betas)
        kw = {"constant_steps": schedule.constant_steps, "decay_steps": schedule.decay_steps}
        self.sched_g = linear_decay_scheduler(self.opt_g, **kw)
        self.sched_d = linear_decay_scheduler(self.opt_d, **kw)
        self.scaler = make_grad_scaler(dev, cfg.amp)
        self.pool_a = ImagePool(cfg.pool_size, seed=cfg.seed * 2)
        self.pool_b = ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 1)
        self.steps_done = 0

    @property
    def g_ab(self) -> nn.Module:
        return unwrap(self.gens).g_ab  # type: ignore[return-value]

    @property
    def g_ba(self) -> nn.Module:
        return unwrap(self.gens).g_ba  # type: ignore[return-value]

    def batches(self, start_step: int) -> Iterable[dict[str, Any]]:
        sampler = StepBatchSampler(start_step=start_step, total_steps=self.schedule.total_steps,
                                   batch_size=self.cfg.batch_size, rank=self.ctx.rank, world_size=self.ctx.world_size)
        return DataLoader(self.data, batch_sampler=sampler, num_workers=self.cfg.workers,
                          pin_memory=self.ctx.device.type == "cuda")

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, float]:
        cfg, dev = self.cfg, self.ctx.device
        real_a = batch["A"].to(dev, non_blocking=True)  # (B, 3, H, W)
        real_b = batch["B"].to(dev, non_blocking=True)
        lr = self.opt_g.param_groups[0]["lr"]
        identity = cfg.lambda_identity > 0
        discs = unwrap(self.discs)

        # Generators: discriminators frozen and called unwrapped (no DDP reduction for them here).
        _set_requires_grad(discs, False)
        with autocast(dev, cfg.amp):
            out = self.gens(real_a, real_b, identity)
            loss_gan_ab = lsgan(discs.d_b(out["fake_b"]), True)
            loss_gan_ba = lsgan(discs.d_a(out["fake_a"]), True)
        lam = cfg.lambda_cycle
        loss_cyc_a = F.l1_loss(out["rec_a"].float(), real_a) * lam
        loss_cyc_b = F.l1_loss(out["rec_b"].float(), real_b) * lam
        loss_g = loss_gan_ab + loss_gan_ba + loss_cyc_a + loss_cyc_b
        losses = {"G_AB": loss_gan_ab, "G_BA": loss_gan_ba, "cycle_A": loss_cyc_a, "cycle_B": loss_cyc_b}
        if identity:
            lam_id = lam * cfg.lambda_identity
            losses["idt_A"] = F.l1_loss(out["idt_a"].float(), real_a) * lam_id
            losses["idt_B"] = F.l1_loss(out["idt_b"].float(), real_b) * lam_id
            loss_g = loss_g + losses["idt_A"] + losses["idt_B"]
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.scaler.step(self.opt_g)

        # Discriminators: real and pooled fakes in one batch, one forward per D.
        _set_requires_grad(discs, True)
        fake_a = self.pool_a.query(out["fake_a"].detach())
        fake_b = self.pool_b.query(out["fake_b"].detach())
        n = real_a.shape[0]
        with autocast(dev, cfg.amp):
            pred_a, pred_b = self.discs(torch.cat([real_a, fake_a]), torch.cat([real_b, fake_b]))
        loss_d_a = 0.5 * (lsgan(pred_a[:n], True) + lsgan(pred_a[n:], False))
        loss_d_b = 0.5 * (lsgan(pred_b[:n], True) + lsgan(pred_b[n:], False))
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d_a + loss_d_b).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        self.sched_g.step()
        self.sched_d.step()
        self.steps_done = step + 1
        metrics = {k: float(v.detach()) for k, v in losses.items()}
        metrics.update({"D_A": float(loss_d_a.detach()), "D_B": float(loss_d_b.detach()), "lr": float(lr)})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            "G_AB": self.g_ab.state_dict(), "G_BA": self.g_ba.state_dict(),
            "D_A": unwrap(self.discs).d_a.state_dict(), "D_B": unwrap(self.discs).d_b.state_dict(),
            "opt_G": self.opt_g.state_dict(), "opt_D": self.opt_d.state_dict(),
            "sched_G": self.sched_g.state_dict(), "sched_D": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "pool_A": self.pool_a.state_dict(), "pool_B": self.pool_b.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        discs = unwrap(self.discs)
        self.g_ab.load_state_dict(state["G_AB"])
        self.g_ba.load_state_dict(state["G_BA"])
        discs.d_a.load_state_dict(state["D_A"])  # type: ignore[union-attr]
        discs.d_b.load_state_dict(state["D_B"])  # type: ignore[union-attr]
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        self.sched_g.load_state_dict(state["sched_G"])
        self.sched_d.load_state_dict(state["sched_D"])
        apply_scheduled_lr(self.sched_g)  # this run's schedule (a resumed run may have more steps)
        apply_scheduled_lr(self.sched_d)
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.pool_a.load_state_dict(state["pool_A"], self.ctx.device)
        self.pool_b.load_state_dict(state["pool_B"], self.ctx.device)

    @torch.no_grad()
    def write_samples(self, path: Path, step: int) -> None:
        """Rows ``real A | fake B | rec A`` then ``real B | fake A | rec B``."""
        if not self.samples_a and not self.samples_b:
            return
        g_ab, g_ba = self.g_ab, self.g_ba
        modes = (g_ab.training, g_ba.training)
        g_ab.eval(), g_ba.eval()
        rows: list[list[torch.Tensor]] = []
        try:
            for real, fwd, back in [(x, g_ab, g_ba) for x in self.samples_a] + [(x, g_ba, g_ab) for x in self.samples_b]:
                x = real.unsqueeze(0).to(self.ctx.device)
                fake = fwd(x)
                rows.append([real, fake[0].float().cpu(), back(fake)[0].float().cpu()])
        finally:
            g_ab.train(modes[0]), g_ba.train(modes[1])
        save_image_grid(rows, path)

    def save_outputs(self, out_dir: Path, step: int) -> list[Path]:
        meta = {**self.meta, "steps": step, "total_steps": self.schedule.total_steps}
        return [
            save_generator(self.g_ab, Path(out_dir) / "G_AB.pt", meta={**meta, "direction": "A->B"}),
            save_generator(self.g_ba, Path(out_dir) / "G_BA.pt", meta={**meta, "direction": "B->A"}),
        ]

