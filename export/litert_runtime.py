"""Running ``.tflite`` files on this machine with ``ai_edge_litert`` (XNNPACK on by default).

Our LiteRT artifacts take and return NHWC float32 in [0, 1] (what an Android bitmap gives); the
rest of mobilegan speaks NCHW, so :func:`open_tflite` transposes at the boundary and reports the
NCHW shape. A file with NCHW I/O (another exporter's) runs too: the layout is read from the file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilegan.errors import MobileganError

INSTALL_HINT = "LiteRT support is an extra: pip install 'mobilegan[litert]'"


def litert_missing(*, convert: bool = False) -> str | None:
    """None when the LiteRT runtime (and, with ``convert``, the converter) can be imported, else
    one line saying how to install it."""
    needed = ("ai_edge_litert", "litert_torch") if convert else ("ai_edge_litert",)
    absent = [name for name in needed if importlib.util.find_spec(name) is None]
    return f"{', '.join(absent)} not installed ({INSTALL_HINT})" if absent else None


def open_interpreter(path: Path, *, threads: int | None = None) -> Any:
    """An allocated ``ai_edge_litert`` interpreter for ``path`` (raises a one-line error)."""
    if missing := litert_missing():
        raise MobileganError(f"{path}: cannot run a .tflite here: {missing}")
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise MobileganError(f"{path}: not a loadable LiteRT model ({first})") from None
    return interpreter


def is_nhwc(shape: list[int]) -> bool:
    """Whether a 4-d image shape is (N, H, W, 3) rather than (N, 3, H, W)."""
    return len(shape) == 4 and shape[-1] == 3 and shape[1] != 3


def open_tflite(path: Path, threads: int | None = None) -> tuple[Callable[[torch.Tensor], torch.Tensor], list[int]]:
    """(callable NCHW -> NCHW, the NCHW input shape) for a one-input, one-output ``.tflite``."""
    interpreter = open_interpreter(Path(path), threads=threads)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise MobileganError(f"{path}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
    in_shape = [int(s) for s in inputs[0]["shape"]]
    nhwc = is_nhwc(in_shape)
    out_nhwc = is_nhwc([int(s) for s in outputs[0]["shape"]])
    in_index, out_index, in_dtype = inputs[0]["index"], outputs[0]["index"], inputs[0]["dtype"]

    def run(x: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) -> (1, 3, H, W)
        arr = x.detach().float().numpy()
        if nhwc:
            arr = arr.transpose(0, 2, 3, 1)
        interpreter.set_tensor(in_index, np.ascontiguousarray(arr, dtype=in_dtype))
        interpreter.invoke()
        out = interpreter.get_tensor(out_index)
        if out_nhwc:
            out = out.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

    shape = [in_shape[0], in_shape[3], in_shape[1], in_shape[2]] if nhwc else in_shape
    return run, shape


def run_tflite(path: Path, inputs: torch.Tensor, *, threads: int | None = None) -> torch.Tensor:
    """Run a ``.tflite`` on ``inputs`` (N, 3, H, W), one image at a time; outputs NCHW."""
    fn, _ = open_tflite(path, threads)
    return torch.cat([fn(inputs[i : i + 1]) for i in range(inputs.shape[0])])
