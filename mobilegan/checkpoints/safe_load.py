"""Read checkpoint files as data, never as code.

``.pt``/``.pth``/``.ckpt`` go through ``torch.load(weights_only=True)``: a pickle that tries
to run anything is refused before it runs. ``.safetensors`` are read with safetensors; our
config travels in its string metadata as JSON.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
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
        with warnings.catch_warnings():
            # torch warns (on stderr) about pickle protocols it may not support: the error
            # below already says what is wrong, in one line.
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):
            raise CheckpointError(
                f"{path}: refused to load: not a PyTorch checkpoint written by torch.save, or corrupt "
                f"({_unsupported_global(str(exc))})"
            ) from None
        raise CheckpointError(
            f"{path}: refused to load: the file holds objects other than tensors and plain data "
            f"({_unsupported_global(str(exc))}); only weights are loaded, never code"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes is a bad file

        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or not a .pt file?): {msg[:160]}") from None


def _unsupported_global(message: str) -> str:
    """Pull 'Unsupported global: GLOBAL x.y' out of torch's long weights_only message."""
    for line in message.splitlines():
        line = line.strip()
        if "Unsupported global" in line or "Unsupported operand" in line:
            return line.split("was not an allowed global")[0].strip(" .:")[:160]
    return "weights_only=True rejected it"


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
