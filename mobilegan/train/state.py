"""The resumable training state file (``train_state.pt``), in mobilegan's native envelope.

    {"format": "mobilegan", "format_version": 1, "kind": "training_state",
     "config": {...run config...}, "state_dict": {"step": int, "task": {...}, "rng": {...}}, "meta": {...}}

Only tensors and plain data, so :func:`mobilegan.checkpoints.read_checkpoint_file`
(``weights_only=True``) reads it, and it is written atomically: a crash or SIGKILL leaves the
previous state intact.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import torch

from mobilegan.checkpoints.native import FORMAT, FORMAT_VERSION, is_native
from mobilegan.checkpoints.safe_load import read_checkpoint_file
from mobilegan.errors import CheckpointError
from mobilegan.utils.atomic import atomic_torch_save
from mobilegan.version import __version__

KIND = "training_state"
STATE_FILE = "train_state.pt"


def save_training_state(path: str | os.PathLike[str], state: dict[str, Any], *, config: dict[str, Any],
                        meta: dict[str, Any] | None = None) -> Path:
    """Atomically write ``state`` (must contain ``"step"``) with the run ``config``."""
    if "step" not in state:
        raise ValueError("a training state needs a 'step'")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "config": config,
        "state_dict": state,
        "meta": {
            "mobilegan_version": __version__,
            "torch_version": str(torch.__version__),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **(meta or {}),
        },
    }
    return atomic_torch_save(payload, path)


def load_training_state(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state, config)`` from a training state file; :class:`CheckpointError` if it is not one."""
    path = Path(path)
    obj = read_checkpoint_file(path)
    if not is_native(obj) or obj.get("kind") != KIND:
        kind = obj.get("kind") if is_native(obj) else None
        what = f"a mobilegan {kind} checkpoint" if kind else "not a mobilegan file"
        raise CheckpointError(f"{path}: not a training state ({what})")
    if obj.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer mobilegan; upgrade to resume it")
    state = obj.get("state_dict")
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"{path}: training state has no step")
    return state, dict(obj.get("config") or {})
