"""Read checkpoint files as data, never as code.

``.pt``/``.pth``/``.ckpt`` go through ``torch.load(weights_only=True)``: a pickle that tries
to run anything is refused before it runs. ``.safetensors`` are read with safetensors; our
config travels in its string metadata as JSON.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from mobilegan.errors import CheckpointError

SAFETENSORS_SUFFIX = ".safetensors"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, expected a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file (an interrupted download or save?)")


def read_checkpoint_file(path: str | os.PathLike[str]) -> Any:
    """The deserialised object (dicts/lists of tensors and primitives only)."""
    path = Path(path)
    _check_file(path)
    if path.suffix == SAFETENSORS_SUFFIX:
        return _read_safetensors(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise CheckpointError(
            f"{path}: refused to load: the file holds objects other than tensors and plain data "
            f"(weights_only=True: {first[:160]})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError, TypeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or not a .pt file?): {msg[:160]}") from None


def _read_safetensors(path: Path) -> dict[str, Any]:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:  # pragma: no cover - safetensors is a dependency
        raise CheckpointError(f"{path}: reading .safetensors needs the 'safetensors' package") from None
    try:
        tensors: dict[str, torch.Tensor] = {}
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            for key in fh.keys():
                tensors[key] = fh.get_tensor(key)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file: {str(exc)[:160]}") from None
    if "mobilegan" in meta:
        try:
            header = json.loads(meta["mobilegan"])
        except json.JSONDecodeError:
            raise CheckpointError(f"{path}: corrupt mobilegan metadata in safetensors header") from None
        header["state_dict"] = tensors
        return header
    return tensors
