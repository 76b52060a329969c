"""A generic, resumable training loop: the task decides what a step is, the loop does the rest.

The loop owns what every trainer needs: the step counter, the progress bar (losses, ETA; log lines when not on a terminal), the
metrics log, periodic sample grids, periodic and final checkpoints (the full training state,
written atomically, plus the task's standalone outputs), SIGINT/SIGTERM handling (save, then
return cleanly) and agreement between DDP ranks on when to stop. CycleGAN training
(:mod:`mobilegan.train.cyclegan`) and distillation plug in a :class:`TrainTask`.

Exact resume: ``run_loop`` restores the task state and all RNG states and asks the task's
``batches(start_step)`` for data from that step on; datasets in :mod:`mobilegan.data` are pure
functions of (seed, sample index), so the data, crops and flips replay exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mobilegan.utils.progress import progress_bar

from mobilegan.train.distributed import DistContext, any_rank, barrier, mean_over_ranks
from mobilegan.train.metrics import METRICS_FILE, MetricsLog
from mobilegan.train.reproducibility import capture_rng_state, restore_rng_state
from mobilegan.train.signals import StopRequest
from mobilegan.train.state import STATE_FILE, save_training_state

log = logging.getLogger(__name__)


class TrainTask(Protocol):
    """What the loop needs from a trainer (CycleGAN, distillation, ...)."""

    def batches(self, start_step: int) -> Iterable[Any]:
        """The batches of steps ``start_step, start_step + 1, ...`` (at least up to the total)."""

    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        """One optimisation step; returns scalar metrics (losses, ``lr``) for logging."""

    def state_dict(self) -> dict[str, Any]:
        """Everything to resume exactly (models, optimizers, schedulers, pools): tensors and plain data."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def write_samples(self, path: Path, step: int) -> None:
        """Write a sample grid PNG to ``path`` (main rank only; must write atomically)."""

    def save_outputs(self, out_dir: Path, step: int) -> list[Path]:
        """Write the standalone artefacts (e.g. ``G_AB.pt``) atomically; main rank only."""


@dataclass(frozen=True)
class LoopConfig:
    total_steps: int
    out_dir: Path
    save_every: int = 1000  # full state + outputs every N steps (0: only at the end / on stop)
    sample_every: int = 500  # sample grid every N steps (0: only at the end)
    log_every: int = 10  # metrics record every N steps
    run_config: Mapping[str, Any] = field(default_factory=dict)  # stored in the state; checked on resume
    state_meta: Mapping[str, Any] = field(default_factory=dict)
    desc: str = "train"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise ValueError(f"total_steps must be >= 1 (got {self.total_steps})")
        if min(self.save_every, self.sample_every) < 0 or self.log_every < 1:
            raise ValueError("save_every and sample_every must be >= 0, log_every >= 1")

    @property
    def state_path(self) -> Path:
        return self.out_dir / STATE_FILE


@dataclass
class LoopResult:
    start_step: int
    end_step: int  # steps completed when the loop returned
    interrupted: bool  # stopped early by SIGINT / SIGTERM (state saved)
    last_metrics: dict[str, float]
    seconds: float
    outputs: list[Path] = field(default_factory=list)
    train_seconds: float = 0.0  # from the end of the first step to the end of the last (no warm-up, no final save)

    @property
    def steps_per_s(self) -> float:
        return (self.end_step - self.start_step) / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_steps_per_s(self) -> float:
        """Throughput without the first step's warm-up and the final save (0 if under 2 steps)."""
        steps = self.end_step - self.start_step - 1
        return steps / self.train_seconds if steps > 0 and self.train_seconds > 0 else 0.0


def _due(completed: int, every: int) -> bool:
    return every > 0 and completed % every == 0


def _postfix(metrics: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.3g}" for k, v in metrics.items() if k != "lr"}


class _Checkpointer:
    def __init__(self, task: TrainTask, cfg: LoopConfig, ctx: DistContext, metrics: MetricsLog) -> None:
        self.task, self.cfg, self.ctx, self.metrics = task, cfg, ctx, metrics
        self.outputs: list[Path] = []

    def save(self, completed: int) -> None:
        if not self.ctx.is_main:
            return
        state = {"step": completed, "task": self.task.state_dict(), "rng": capture_rng_state(),
                 "world_size": self.ctx.world_size}
        # Outputs first, state last: a state at step s implies outputs from step s exist.
        self.outputs = self.task.save_outputs(self.cfg.out_dir, completed)
        self.metrics.flush()
        save_training_state(self.cfg.state_path, state, config=dict(self.cfg.run_config), meta=dict(self.cfg.state_meta))
        log.debug("saved training state at step %d", completed)

    def samples(self, completed: int) -> None:
        if self.ctx.is_main:
            self.task.write_samples(self.cfg.out_dir / "samples" / f"step_{completed:06d}.png", completed)


def run_loop(task: TrainTask, cfg: LoopConfig, ctx: DistContext, *, resume_state: dict[str, Any] | None = None) -> LoopResult:
    """Train from step 0 (or from ``resume_state``, as read by ``load_training_state``) to ``total_steps``."""
    start = 0
    if resume_state is not None:
        task.load_state_dict(resume_state["task"])
        if ctx.world_size == int(resume_state.get("world_size", 1)):
            restore_rng_state(resume_state["rng"])
        start = int(resume_state["step"])
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    metrics = MetricsLog(cfg.out_dir / METRICS_FILE, resume_step=start if resume_state is not None else None,
                         enabled=ctx.is_main, tensorboard_dir=cfg.out_dir / "tensorboard")
    ckpt = _Checkpointer(task, cfg, ctx, metrics)
    last: dict[str, float] = {}
    completed = start
    interrupted = False
    t0 = time.perf_counter()
    t_first = t_last = t0
    if start >= cfg.total_steps:
        log.info("nothing to do: the run already completed %d of %d steps", start, cfg.total_steps)
    bar = progress_bar(total=cfg.total_steps, initial=start, desc=cfg.desc, unit="it", dynamic_ncols=True,
                   disable=not (cfg.progress and ctx.is_main))
    try:
        with StopRequest() as stop:
            if start < cfg.total_steps:
                for step, batch in zip(range(start, cfg.total_steps), task.batches(start)):
                    last = task.train_step(batch, step)
                    completed = step + 1
                    t_last = time.perf_counter()
                    if step == start:
                        t_first = t_last
                    bar.update(1)
                    bar.set_postfix(_postfix(last), refresh=False)
                    if _due(completed, cfg.log_every):
                        metrics.log(completed, mean_over_ranks(last, ctx))
                    if _due(completed, cfg.sample_every):
                        ckpt.samples(completed)
                    stopping = any_rank(stop.requested, ctx)
                    if stopping or (_due(completed, cfg.save_every) and completed < cfg.total_steps):
                        ckpt.save(completed)
                    if stopping:
                        interrupted = True
                        log.warning("stopped at step %d of %d; state saved to %s (continue with --resume)",
                                    completed, cfg.total_steps, cfg.state_path)
                        break
            if not interrupted:
                if completed and not _due(completed, cfg.sample_every):
                    ckpt.samples(completed)
                ckpt.save(completed)
    finally:
        bar.close()
        metrics.close()
    barrier(ctx)
    return LoopResult(start_step=start, end_step=completed, interrupted=interrupted, last_metrics=last,
                      seconds=time.perf_counter() - t0, outputs=ckpt.outputs,
                      train_seconds=t_last - t_first)
