"""Exported artifacts as load-once callables, and a tiling runner over them for ``translate``.

Exported graphs take and return NCHW float in the pixel range their ``model.json`` states
(our exporter: [0, 1], normalisation inside the graph) at a fixed size, so large images are
processed in tiles of exactly that size and small ones are padded up to it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mobilegan.errors import MobileganError
from mobilegan.inference.tiling import TileConfig, pad_to_multiple, run_tiled

log = logging.getLogger(__name__)

TensorFn = Callable[[torch.Tensor], torch.Tensor]


def _needs_coreml(path: Path) -> bool:
    """Whether a .pte names the Core ML backend (delegate ids are stored as plain strings)."""
    try:
        return b"CoreMLBackend" in Path(path).read_bytes()
    except OSError:
        return False


def open_pte(path: Path) -> tuple[TensorFn, list[int] | None]:
    """(callable, input shape) for an ExecuTorch program."""
    try:
        from executorch.runtime import Runtime
    except ImportError:
        raise MobileganError("running .pte files needs executorch (pip install executorch==1.5.1)") from None
    try:
        program = Runtime.get().load_program(Path(path))
        method = program.load_method("forward")
    except Exception as exc:  # noqa: BLE001 - the runtime raises plain RuntimeErrors for bad files
        if _needs_coreml(path):
            raise MobileganError(f"{path}: this program is delegated to Core ML, which runs only on Apple devices; "
                                 "use the XNNPACK .pte (--target executorch) or the .onnx here") from None
        raise MobileganError(f"{path}: not a loadable ExecuTorch program ({str(exc).splitlines()[0][:120]})") from None
    if method is None:
        raise MobileganError(f"{path}: the program has no forward method")
    shape = None
    try:
        shape = list(method.metadata.input_tensor_meta(0).sizes())
    except Exception:  # noqa: BLE001 - metadata API differs between releases; model.json is the fallback
        pass
    return (lambda x: method.execute([x.contiguous()])[0]), shape


def open_onnx(path: Path, threads: int | None = None) -> tuple[TensorFn, list[int | str] | None]:
    """(callable, input shape with symbolic dims as strings) for an ONNX model on onnxruntime CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise MobileganError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:120]})") from None
    inp = session.get_inputs()[0]

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {inp.name: x.numpy().astype(np.float32)})[0])

    return run, list(inp.shape)


def _card_entry(path: Path) -> dict | None:
    card = path.parent / "model.json"
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for art in data.get("artifacts", []):
        if art.get("file") == path.name:
            return art
    return None


class ExportedRunner:
    """(1, 3, H, W) in [-1, 1], any size -> same, through a fixed-size exported artifact."""

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        entry = _card_entry(path)
        self.in_range = tuple((entry or {}).get("input", {}).get("range", [0, 1]))
        self.out_range = tuple((entry or {}).get("output", {}).get("range", [0, 1]))
        shape: list | None
        if suffix == ".pte":
            self.fn, shape = open_pte(path)
        elif suffix == ".onnx":
            self.fn, shape = open_onnx(path)
        elif suffix == ".mlpackage":
            self.fn, shape = _open_coreml(path)
        else:
            raise MobileganError(f"{path}: unknown model type {suffix}")
        if entry is not None:
            shape = entry["input"]["shape"]
        self.size: int | None = None
        if shape is not None and all(isinstance(s, int) for s in shape[-2:]):
            if shape[-1] != shape[-2]:
                raise MobileganError(f"{path}: non-square fixed input {shape[-2:]} is not supported by translate")
            self.size = int(shape[-1])

    def _call(self, x: torch.Tensor) -> torch.Tensor:  # [-1, 1] -> [-1, 1]
        lo, hi = self.in_range
        y = self.fn(((x + 1) / 2) * (hi - lo) + lo)
        lo, hi = self.out_range
        return ((y.float() - lo) / (hi - lo)) * 2 - 1

    def __call__(self, x: torch.Tensor, tile: TileConfig) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(x)
        if self.size is None:  # dynamic H/W (ONNX exported with dynamic axes)
            y = self._call(padded) if max(padded.shape[-2:]) <= tile.tile else run_tiled(self._call, padded, tile)
            return y[..., :h, :w]
        s = self.size
        ph, pw = max(0, s - padded.shape[-2]), max(0, s - padded.shape[-1])
        if ph or pw:
            mode = "reflect" if padded.shape[-2] > ph and padded.shape[-1] > pw else "replicate"
            padded = F.pad(padded, (0, pw, 0, ph), mode=mode)
        cfg = TileConfig(tile=s, overlap=min(tile.overlap, s // 2 - 4), stats_max_side=max(64, tile.stats_max_side))
        y = run_tiled(self._call, padded, cfg)
        return y[..., :h, :w]


def _open_coreml(path: Path) -> tuple[TensorFn, list[int] | None]:
    if sys.platform != "darwin":
        raise MobileganError(f"{path}: Core ML models run only on macOS/iOS; use the .pte or .onnx here")
    import coremltools as ct  # pragma: no cover - macOS only
    from PIL import Image  # pragma: no cover

    model = ct.models.MLModel(str(path))  # pragma: no cover
    spec = model.get_spec()  # pragma: no cover
    name = spec.description.input[0].name  # pragma: no cover
    out_name = spec.description.output[0].name  # pragma: no cover

    def run(x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - x in [0, 255] (model.json range)
        arr = x[0].permute(1, 2, 0).clamp(0, 255).round().byte().numpy()
        out = model.predict({name: Image.fromarray(arr)})[out_name]
        out = np.asarray(out.convert("RGB") if hasattr(out, "convert") else out, dtype=np.float32)
        return torch.from_numpy(out).permute(2, 0, 1)[None]

    return run, None  # pragma: no cover
