"""mobilegan's own checkpoint format: one file with the config, the weights and metadata.

    {"format": "mobilegan", "format_version": 1, "kind": "generator" | "discriminator",
     "config": {...dataclass fields...}, "state_dict": {...}, "meta": {...}}

Everything in it is plain data, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.checkpoints.safe_load import SAFETENSORS_SUFFIX
from mobilegan.errors import CheckpointError
from mobilegan.utils.atomic import atomic_path, atomic_torch_save
from mobilegan.version import __version__

FORMAT = "mobilegan"
FORMAT_VERSION = 1


def is_native(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def make_payload(model: nn.Module, *, kind: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_dict"):
        raise CheckpointError(f"{type(model).__name__} has no mobilegan config; build it with create_model()")
    # Unwrap DDP / torch.compile wrappers so keys never carry "module." prefixes.
    base = getattr(model, "module", model)
    base = getattr(base, "_orig_mod", base)
    state = {k: v.detach().cpu().clone() for k, v in base.state_dict().items()}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config.to_dict(),
        "state_dict": state,
        "meta": {
            "mobilegan_version": __version__,
            "torch_version": str(torch.__version__),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **(meta or {}),
        },
    }


def save_model(model: nn.Module, path: str | os.PathLike[str], *, kind: str, meta: dict[str, Any] | None = None) -> Path:
    """Atomically write ``model`` in our format (``.safetensors`` when the path says so)."""
    payload = make_payload(model, kind=kind, meta=meta)
    path = Path(path)
    if path.suffix == SAFETENSORS_SUFFIX:
        from safetensors.torch import save_file

        header = {k: v for k, v in payload.items() if k != "state_dict"}
        tensors = {k: v.contiguous() for k, v in payload["state_dict"].items()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"mobilegan": json.dumps(header)})
        return path
    return atomic_torch_save(payload, path)


def save_generator(model: nn.Module, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None) -> Path:
    """Save a generator (``ResnetGenerator``) with its config; ``load_generator`` rebuilds it."""
    return save_model(model, path, kind="generator", meta=meta)


def save_discriminator(model: nn.Module, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None) -> Path:
    return save_model(model, path, kind="discriminator", meta=meta)
