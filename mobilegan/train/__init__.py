"""CycleGAN teacher training and the training machinery distillation reuses.

``train_cyclegan(TrainConfig(...))`` is ``mobilegan train`` (see :mod:`.runner`, :mod:`.cyclegan`).

Reusable pieces (no CycleGAN in them):

- :mod:`.loop`: ``run_loop(task, LoopConfig, DistContext, resume_state=...)`` drives any
  :class:`TrainTask` (``batches(start_step)``, ``train_step(batch, step) -> dict``,
  ``state_dict``/``load_state_dict``, ``write_samples``, ``save_outputs``): tqdm bar, metrics,
  samples, atomic checkpoints, SIGINT/SIGTERM save-and-exit, exact resume.
- :mod:`.distributed`: ``setup_distributed``/``teardown_distributed`` (torchrun -> DDP; NCCL on
  CUDA, gloo on CPU), ``wrap_ddp``, ``unwrap``, ``autocast``, ``make_grad_scaler``, ``resolve_device``.
- :mod:`.reproducibility`: ``seed_everything``, ``capture_rng_state``/``restore_rng_state``.
- :mod:`.schedule`: ``linear_decay_scheduler`` (constant then linear decay), ``split_steps``.
- :mod:`.pool`: ``ImagePool`` (history of fakes, with its own saved RNG).
- :mod:`.state`: ``save_training_state``/``load_training_state`` (``train_state.pt``, kind
  ``training_state``, weights_only-safe).
- :mod:`.metrics`: ``MetricsLog`` (JSON lines + optional TensorBoard), ``read_metrics``.
- :mod:`.samples`: ``save_image_grid``; :mod:`.init`: ``init_weights`` (N(0, 0.02)).
"""

from mobilegan.train.config import TrainConfig
from mobilegan.train.cyclegan import CycleGANTask
from mobilegan.train.distributed import (
    DistContext,
    autocast,
    barrier,
    make_grad_scaler,
    resolve_device,
    setup_distributed,
    teardown_distributed,
    unwrap,
    wrap_ddp,
)
from mobilegan.train.init import init_weights
from mobilegan.train.loop import LoopConfig, LoopResult, TrainTask, run_loop
from mobilegan.train.metrics import METRICS_FILE, MetricsLog, read_metrics
from mobilegan.train.pool import ImagePool
from mobilegan.train.runner import TrainResult, train_cyclegan
from mobilegan.train.reproducibility import capture_rng_state, restore_rng_state, seed_everything
from mobilegan.train.samples import image_grid, save_image_grid
from mobilegan.train.schedule import linear_decay_factor, linear_decay_scheduler, split_steps
from mobilegan.train.signals import StopRequest
from mobilegan.train.state import STATE_FILE, load_training_state, save_training_state

__all__ = [
    "CycleGANTask",
    "TrainConfig",
    "TrainResult",
    "train_cyclegan",
    "METRICS_FILE",
    "STATE_FILE",
    "DistContext",
    "ImagePool",
    "LoopConfig",
    "LoopResult",
    "MetricsLog",
    "StopRequest",
    "TrainTask",
    "autocast",
    "barrier",
    "capture_rng_state",
    "image_grid",
    "init_weights",
    "linear_decay_factor",
    "linear_decay_scheduler",
    "load_training_state",
    "make_grad_scaler",
    "read_metrics",
    "resolve_device",
    "restore_rng_state",
    "run_loop",
    "save_image_grid",
    "save_training_state",
    "seed_everything",
    "setup_distributed",
    "split_steps",
    "teardown_distributed",
    "unwrap",
    "wrap_ddp",
]
