"""Running ``.tflite`` files on this machine with ``ai_edge_litert`` (XNNPACK on by default).

Our LiteRT artifacts take and return NHWC images in [0, 1] (what an Android bitmap gives): float32
in the fp32 file; int8 in the int8 file, whose converter folds the input quantize and the output
dequantize into the I/O (value = (q - zero_point) * scale, both stored in the file and model.json).
The rest of mobilegan speaks NCHW float, so :func:`open_tflite` converts at the boundary and
reports the NCHW shape. A file with NCHW I/O runs too: the layout is read from the file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilegan.errors import MobileganError

log = logging.getLogger(__name__)

INSTALL_HINT = "LiteRT support is an extra: pip install 'mobilegan[litert]'"


def litert_missing(*, convert: bool = False) -> str | None:
    """None when the LiteRT runtime (and, with ``convert``, the converter) can be imported, else
    one line saying how to install it."""
    needed = ("ai_edge_litert", "litert_torch") if convert else ("ai_edge_litert",)
    absent = [name for name in needed if importlib.util.find_spec(name) is None]
    return f"{', '.join(absent)} not installed ({INSTALL_HINT})" if absent else None


@contextlib.contextmanager
def native_stderr_to_debug_log() -> Iterator[None]:
    """LiteRT's C++ code writes its chatter ("INFO: Created TensorFlow Lite XNNPACK delegate",
    the converter's op counts) straight to file descriptor 2, past Python's ``sys.stderr``: send
    it to a temporary file while the block runs and log it at debug level instead."""
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(fd)
    except (OSError, ValueError):  # no real descriptor 2 (embedded interpreters): leave it alone
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text:
                log.debug("LiteRT native log:\n%s", text)


def open_interpreter(path: Path, *, threads: int | None = None) -> Any:
    """An allocated ``ai_edge_litert`` interpreter for ``path`` (raises a one-line error)."""
    if missing := litert_missing():
        raise MobileganError(f"{path}: cannot run a .tflite here: {missing}")
    from ai_edge_litert.interpreter import Interpreter

    try:
        with native_stderr_to_debug_log():
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
    in_index, out_index = inputs[0]["index"], outputs[0]["index"]
    to_input, from_output = quantizer_for(inputs[0]), dequantizer_for(outputs[0])

    def run(x: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) -> (1, 3, H, W)
        arr = x.detach().float().numpy()
        if nhwc:
            arr = arr.transpose(0, 2, 3, 1)
        interpreter.set_tensor(in_index, np.ascontiguousarray(to_input(arr)))
        interpreter.invoke()
        out = from_output(interpreter.get_tensor(out_index))
        if out_nhwc:
            out = out.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

    shape = [in_shape[0], in_shape[3], in_shape[1], in_shape[2]] if nhwc else in_shape
    return run, shape


def io_quantization(detail: dict[str, Any]) -> tuple[float, int] | None:
    """(scale, zero point) of an integer input or output tensor; None for a float one."""
    if np.dtype(detail["dtype"]).kind == "f":
        return None
    scale, zero_point = detail["quantization"]
    return float(scale), int(zero_point)


def quantizer_for(detail: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """float -> the tensor's dtype (an int8 model's input takes ``round(x / scale) + zero_point``)."""
    dtype = np.dtype(detail["dtype"])
    params = io_quantization(detail)
    if params is None:
        return lambda a: a.astype(dtype)
    scale, zero_point = params
    info = np.iinfo(dtype)
    return lambda a: np.clip(np.round(a / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantizer_for(detail: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    params = io_quantization(detail)
    if params is None:
        return lambda a: a.astype(np.float32)
    scale, zero_point = params
    return lambda a: (a.astype(np.float32) - zero_point) * scale


def run_tflite(path: Path, inputs: torch.Tensor, *, threads: int | None = None) -> torch.Tensor:
    """Run a ``.tflite`` on ``inputs`` (N, 3, H, W), one image at a time; outputs NCHW."""
    fn, _ = open_tflite(path, threads)
    return torch.cat([fn(inputs[i : i + 1]) for i in range(inputs.shape[0])])
