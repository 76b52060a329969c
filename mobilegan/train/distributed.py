"""Device choice and ``torchrun`` / DistributedDataParallel setup.

Single-process runs need nothing. Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment)
:func:`setup_distributed` joins the process group: NCCL on CUDA, gloo on CPU. Only the main
rank (rank 0) logs and writes files; every rank trains on its own slice of the data.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mobilegan.errors import ConfigError

log = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DistContext:
    """Where this process runs and who it is among the ranks."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None when not distributed

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``; errors if CUDA is missing."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda asked for, but no CUDA GPU is available to PyTorch here")
        if name == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device(name)
    raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")


def _env_int(key: str, default: int) -> int:
    raw = os.environ.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {key}={raw!r} is not an integer") from None


def setup_distributed(device: str = "auto", *, timeout_s: float = 1800.0) -> DistContext:
    """Read torchrun's ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and join the process group."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    dev = resolve_device(device, local_rank)
    if world <= 1:
        return DistContext(device=dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=_dt.timedelta(seconds=timeout_s))
    log.info("distributed: rank %d of %d on %s (%s)", rank, world, dev, backend)
    return DistContext(device=dev, rank=rank, world_size=world, local_rank=local_rank, backend=backend)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def wrap_ddp(module: nn.Module, ctx: DistContext) -> nn.Module:
    """DDP-wrap ``module`` when distributed (one forward per backward, please), else return it."""
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP / torch.compile wrapper."""
    module = getattr(module, "module", module)
    return getattr(module, "_orig_mod", module)


def any_rank(flag: bool, ctx: DistContext) -> bool:
    """True on every rank if it is true on any (so all ranks stop at the same step)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device if ctx.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(values: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """Average scalar metrics over ranks (every rank must call it at the same step)."""
    if not ctx.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64,
                     device=ctx.device if ctx.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= ctx.world_size
    return dict(zip(keys, t.tolist()))


def autocast(device: torch.device, enabled: bool) -> AbstractContextManager[object]:
    """Mixed precision: float16 on CUDA, bfloat16 on CPU; a no-op when disabled."""
    if not enabled:
        return nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """A loss scaler, active only for float16 AMP on CUDA (bfloat16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
