"""``train_cyclegan(TrainConfig)``: the library function behind ``mobilegan train``.

Checks the output folder (refuses to overwrite a run unless resuming), joins torchrun's
process group if any, builds the unpaired dataset, the task and the schedule, then hands
over to :func:`mobilegan.train.loop.run_loop`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from mobilegan.data.datasets import ImageDataset, UnpairedDataset
from mobilegan.data.decode import list_images
from mobilegan.data.sampling import steps_per_epoch
from mobilegan.errors import ConfigError
from mobilegan.train.config import TrainConfig
from mobilegan.train.cyclegan import CycleGANTask, Schedule
from mobilegan.train.distributed import DistContext, setup_distributed, teardown_distributed
from mobilegan.train.loop import LoopConfig, run_loop
from mobilegan.train.reproducibility import seed_everything
from mobilegan.train.schedule import split_steps
from mobilegan.train.state import STATE_FILE, load_training_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    out: Path
    g_ab: Path
    g_ba: Path
    state: Path
    start_step: int
    steps: int  # steps completed
    total_steps: int
    interrupted: bool
    last_metrics: dict[str, float]
    steps_per_s: float  # whole call, including warm-up and saves
    steady_steps_per_s: float  # steps after the first, excluding saves at the end
    images_a: int
    images_b: int
    skipped_a: int
    skipped_b: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def _normalise(cfg: TrainConfig) -> TrainConfig:
    """Absolute data paths, so a resumed run compares equal from any working directory."""
    def absolute(p: str | None) -> str | None:
        return None if p is None else str(Path(p).expanduser().resolve())

    return replace(cfg, data_a=absolute(cfg.data_a), data_b=absolute(cfg.data_b),  # type: ignore[arg-type]
                   test_a=absolute(cfg.test_a), test_b=absolute(cfg.test_b))


def _check_out(cfg: TrainConfig) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the state to resume from or None for a fresh run, the stored run config); refuses to clobber a run."""
    out = Path(cfg.out)
    state_path = out / STATE_FILE
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder")
    if not cfg.resume:
        if state_path.exists():
            raise ConfigError(
                f"{out} already holds a training run ({STATE_FILE}); pass --resume to continue it, "
                "or choose another --out"
            )
        return None, {}
    if not state_path.exists():
        raise ConfigError(f"--resume: no {STATE_FILE} in {out} to resume from")
    state, stored = load_training_state(state_path)
    mismatches = cfg.resume_mismatches(stored)
    if mismatches:
        raise ConfigError(f"--resume with different settings than the saved run ({'; '.join(mismatches)})")
    return state, stored


def _sample_views(ds: ImageDataset, folder: str | None, n: int) -> list[torch.Tensor]:
    """``n`` fixed images for sample grids: from the test folder when it has any, else training images."""
    if n == 0:
        return []
    if folder and Path(folder).is_dir() and list_images(folder):
        test = ImageDataset.from_folder(folder, ds.aug, name=f"{ds.name}-test", check=True)
        return [test.view(i) for i in range(min(n, len(test)))]
    return [ds.view(i) for i in range(min(n, len(ds)))]


def train_cyclegan(cfg: TrainConfig, *, ctx: DistContext | None = None) -> TrainResult:
    """Train (or resume) a CycleGAN; writes G_AB.pt, G_BA.pt, train_state.pt, metrics and samples to ``cfg.out``."""
    cfg = _normalise(cfg)
    resume_state, stored = _check_out(cfg)
    own_ctx = ctx is None
    ctx = ctx or setup_distributed(cfg.device)
    try:
        seed_everything(cfg.seed)
        aug = cfg.augment
        a = ImageDataset.from_folder(cfg.data_a, aug, seed=cfg.seed, name="A")
        b = ImageDataset.from_folder(cfg.data_b, aug, seed=cfg.seed, name="B")
        log.info("domain A: %d images (%d skipped); domain B: %d images (%d skipped)",
                 len(a), a.skipped, len(b), b.skipped)
        data = UnpairedDataset(a, b)
        per_epoch = steps_per_epoch(len(data), batch_size=cfg.batch_size, world_size=ctx.world_size)
        if cfg.steps is not None:
            total = cfg.steps
            constant, decay = split_steps(total, epochs=cfg.epochs, epochs_decay=cfg.epochs_decay)
        else:
            constant, decay = cfg.epochs * per_epoch, cfg.epochs_decay * per_epoch
            total = constant + decay
        schedule = Schedule(total_steps=total, constant_steps=constant, decay_steps=decay)
        if resume_state is not None and cfg.extends(stored):
            log.info("extending the run from %d to %d steps: learning-rate schedule recomputed for the new total "
                     "(%d constant, %d decaying)", stored["steps"], total, constant, decay)
        log.info("training %d steps (%d constant lr, %d decaying; %d steps per epoch) on %s%s",
                 total, constant, decay, per_epoch, ctx.device,
                 f" x {ctx.world_size} ranks" if ctx.distributed else "")
        samples_a = _sample_views(a, cfg.test_a, cfg.num_samples) if ctx.is_main else []
        samples_b = _sample_views(b, cfg.test_b, cfg.num_samples) if ctx.is_main else []
        meta = {"data_a": cfg.data_a, "data_b": cfg.data_b, "generator": cfg.generator, "size": cfg.size,
                "seed": cfg.seed, "command": cfg.command, "trained_by": "mobilegan train"}
        task = CycleGANTask(cfg, data, ctx, schedule, samples_a=samples_a, samples_b=samples_b, meta=meta)
        loop_cfg = LoopConfig(total_steps=total, out_dir=Path(cfg.out), save_every=cfg.save_every,
                              sample_every=cfg.sample_every, log_every=cfg.log_every, run_config=cfg.to_dict(),
                              state_meta={"command": cfg.command}, desc="train", progress=cfg.progress)
        res = run_loop(task, loop_cfg, ctx, resume_state=resume_state)
    finally:
        if own_ctx:
            teardown_distributed(ctx)
    out = Path(cfg.out)
    return TrainResult(out=out, g_ab=out / "G_AB.pt", g_ba=out / "G_BA.pt", state=out / STATE_FILE,
                       start_step=res.start_step, steps=res.end_step, total_steps=total,
                       interrupted=res.interrupted, last_metrics=res.last_metrics, steps_per_s=res.steps_per_s,
                       steady_steps_per_s=res.steady_steps_per_s,
                       images_a=len(a), images_b=len(b), skipped_a=a.skipped, skipped_b=b.skipped)
