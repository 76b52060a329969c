"""Tensors of a TorchScript archive, read as data: the archive's code is never run.

A TorchScript file (``torch.jit.save``) is a zip holding ``<name>/data.pkl`` (the module tree:
objects of classes defined by the archive's own ``code/`` folder, tensors as references to
``<name>/data/<key>`` storages) and the code itself. ``torch.jit.load`` would compile and run that
code; :func:`read_script_tensors` instead walks the pickle with an unpickler that knows four
harmless callables (tensor rebuild, storage dtypes, ``OrderedDict``, the int-list builder) and
stands in an inert record for every ``__torch__.*`` class. Anything else is refused.

The result maps dotted attribute paths (``net.layers.conv.weight``) to tensors, plus the plain
int / list-of-int attributes (strides, paddings) so a caller can check the layout it expects.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mobilegan.errors import CheckpointError

_STORAGE_DTYPES: dict[str, torch.dtype] = {
    "FloatStorage": torch.float32, "HalfStorage": torch.float16, "BFloat16Storage": torch.bfloat16,
    "DoubleStorage": torch.float64, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


class _ScriptObject:
    """Inert stand-in for an object of a class defined inside the archive: only its attributes."""

    script_class = "?"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise CheckpointError(f"unexpected state for {self.script_class} in a TorchScript archive")
        self.__dict__.update(state)


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


def _rebuild_tensor(storage: torch.Tensor, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_ignored: Any) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise CheckpointError("TorchScript archive: a tensor without storage")
    return torch.as_strided(storage, tuple(size), tuple(stride), int(offset))


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._classes: dict[str, type[_ScriptObject]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("__torch__"):
            full = f"{module}.{name}"
            if full not in self._classes:
                self._classes[full] = type(name, (_ScriptObject,), {"script_class": full})
            return self._classes[full]
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch.jit._pickle", "build_intlist"):
            return list
        raise CheckpointError(f"TorchScript archive refers to {module}.{name}: only tensors are read, never code")

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise CheckpointError(f"TorchScript archive: unexpected storage reference {str(pid)[:80]}")
        _, kind, key, _location, numel = pid
        try:
            raw = self._archive.read(f"{self._prefix}/data/{key}")
        except KeyError:
            raise CheckpointError(f"TorchScript archive: storage {key} is missing") from None
        itemsize = torch.empty((), dtype=kind.dtype).element_size()
        if len(raw) < int(numel) * itemsize:
            raise CheckpointError(f"TorchScript archive: storage {key} is truncated")
        if int(numel) == 0:
            return torch.empty(0, dtype=kind.dtype)
        return torch.frombuffer(bytearray(raw[: int(numel) * itemsize]), dtype=kind.dtype)


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor], ints: dict[str, Any]) -> None:
    for name, value in vars(obj).items():
        key = f"{prefix}{name}"
        if isinstance(value, torch.Tensor):
            tensors[key] = value
        elif isinstance(value, _ScriptObject):
            _flatten(value, key + ".", tensors, ints)
        elif isinstance(value, int) and not isinstance(value, bool):
            ints[key] = value
        elif isinstance(value, list) and all(isinstance(v, int) for v in value):
            ints[key] = list(value)


@dataclass(frozen=True)
class ScriptTensors:
    tensors: dict[str, torch.Tensor]  # dotted attribute path -> tensor (contiguous copies)
    ints: dict[str, Any]  # dotted attribute path -> int or list of ints (strides, paddings)
    classes: dict[str, str]  # dotted module path ("" for the root) -> archive class name


def _classes(obj: Any, prefix: str, out: dict[str, str]) -> None:
    out[prefix.rstrip(".")] = getattr(obj, "script_class", "?")
    for name, value in vars(obj).items():
        if isinstance(value, _ScriptObject):
            _classes(value, f"{prefix}{name}.", out)


def read_script_tensors(path: str | os.PathLike[str]) -> ScriptTensors:
    """The tensors and integer attributes of a TorchScript archive, without running its code."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: not a TorchScript archive (no <name>/data.pkl)")
            prefix = pickles[0].split("/")[0]
            root = _Unpickler(archive.read(pickles[0]), archive, prefix).load()
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable TorchScript archive ({exc})") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: corrupt TorchScript archive ({str(exc)[:120]})") from None
    if not isinstance(root, _ScriptObject):
        raise CheckpointError(f"{path}: the archive does not hold a module")
    tensors: dict[str, torch.Tensor] = {}
    ints: dict[str, Any] = {}
    _flatten(root, "", tensors, ints)
    classes: dict[str, str] = {}
    _classes(root, "", classes)
    return ScriptTensors(tensors={k: v.contiguous().clone() for k, v in tensors.items()}, ints=ints, classes=classes)
