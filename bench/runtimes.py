"""Load a model once per runtime and return a zero-argument callable that runs one inference.

Thread counts are set per runtime so every row of a comparison runs with the same number:
eager PyTorch via ``torch.set_num_threads``, onnxruntime via ``intra_op_num_threads``,
LiteRT via the interpreter's ``num_threads`` (XNNPACK's pool),
ExecuTorch via its own threadpool (``_unsafe_reset_threadpool``), which ignores torch's
setting and defaults to the number of cores (DESIGN.md §3). The ExecuTorch threadpool must be
reset before programs are loaded, so :func:`set_executorch_threads` is called first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from mobilegan.inference.exported import open_onnx, open_pte

log = logging.getLogger(__name__)

Call = Callable[[], object]


def set_executorch_threads(threads: int) -> bool:
    try:
        from executorch.extension.pybindings import portable_lib
    except ImportError:
        return False
    reset = getattr(portable_lib, "_unsafe_reset_threadpool", None)
    if reset is None:
        log.warning("this ExecuTorch build cannot set its thread count; it uses its default")
        return False
    reset(int(threads))
    return True


def eager_call(model: nn.Module, size: tuple[int, int], threads: int) -> Call:
    torch.set_num_threads(threads)
    model = model.eval()
    x = torch.rand(1, 3, *size) * 2 - 1  # generators take [-1, 1]

    def run() -> object:
        with torch.inference_mode():
            return model(x)

    return run


def executorch_call(path: Path, shape: list[int]) -> Call:
    fn, _ = open_pte(Path(path))
    x = torch.rand(*shape)  # exported graphs take [0, 1]
    return lambda: fn(x)


def onnx_call(path: Path, shape: list[int], threads: int) -> Call:
    fn, _ = open_onnx(Path(path), threads)
    x = torch.rand(*shape)
    return lambda: fn(x)


def litert_call(path: Path, shape: list[int], threads: int) -> Call:
    """A ``.tflite`` in ``ai_edge_litert`` (XNNPACK) at ``threads``; ``shape`` is the NCHW input shape."""
    from mobilegan.export.litert_runtime import open_tflite

    fn, nchw = open_tflite(Path(path), threads)
    x = torch.rand(*nchw)
    return lambda: fn(x)
