"""Exported artifacts as load-once callables, and a tiling runner over them for ``translate``.

Exported graphs take and return NCHW float in the pixel range their ``model.json`` states
(our exporter: [0, 1], normalisation inside the graph) at a fixed size, so large images are
processed in tiles of exactly that size and small ones are padded up to it; models that
normalise per image are never tiled (:class:`ExportedRunner`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mobilegan.errors import MobileganError
from mobilegan.inference.tiling import TileConfig, pad_to_multiple, plan_tiles, run_tiled

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


def _card(path: Path) -> tuple[dict | None, dict | None]:
    """(model.json next to ``path``, the artifact entry of ``path`` in it); Nones when absent."""
    card = path.parent / "model.json"
    if not card.is_file():
        return None, None
    try:
        data = json.loads(card.read_text())
    except (OSError, json.JSONDecodeError):
        return None, None
    for art in data.get("artifacts", []):
        if art.get("file") == path.name:
            return data, art
    return data, None


PROBE_PATCH = 8


@dataclass(frozen=True)
class CardFacts:
    """What translate needs to know about the generator a card's config describes."""

    whole: bool  # must run on the whole image (InstanceNorm statistics, a U-Net's innermost level)
    own_context: bool  # a context student (mobilegan.models.context): tiles, each with its own context
    receptive_field: int  # of the local layers (statistics and context excluded)
    multiple: int  # input sides must be multiples of this


def describe_config(config: dict) -> CardFacts | None:
    """The :class:`CardFacts` of a card's config; None for a config this version cannot read."""
    from mobilegan.models.config import generator_config_from_dict
    from mobilegan.models.registry import build_model
    from mobilegan.profile import receptive_field

    try:
        cfg = generator_config_from_dict(config)
    except Exception:  # noqa: BLE001 - a foreign or damaged card: fall back to probing the artifact
        return None
    own_context = bool(getattr(cfg, "context", 0)) and not cfg.normalises_per_image
    return CardFacts(whole=not cfg.local and not own_context, own_context=own_context,
                     receptive_field=receptive_field(build_model(cfg)), multiple=cfg.size_multiple)


def probe_receptive_field(fn: TensorFn, side: int) -> int | None:
    """Receptive field measured by changing a patch in the middle of a ``side`` x ``side`` input
    and seeing which outputs move; None when outputs move everywhere (per-image statistics, or a
    field as large as the input). Works for any runtime: it only calls the artifact."""
    g = torch.Generator().manual_seed(0)
    low = torch.rand(1, 3, max(2, side // 8), max(2, side // 8), generator=g)
    x = F.interpolate(low, size=(side, side), mode="bilinear", align_corners=False)  # [0, 1]
    c, p = side // 2 - PROBE_PATCH // 2, PROBE_PATCH
    x2 = x.clone()
    x2[..., c : c + p, c : c + p] = 1 - x2[..., c : c + p, c : c + p]
    moved = (fn(x).float() - fn(x2).float()).abs().amax(dim=(0, 1)) > 1e-6  # (H, W)
    rows, cols = moved.any(dim=1).nonzero(), moved.any(dim=0).nonzero()
    if rows.numel() == 0:
        return 1
    if int(rows.min()) == 0 and int(cols.min()) == 0 and int(rows.max()) == side - 1 and int(cols.max()) == side - 1:
        return None
    extent = max(int(rows.max() - rows.min()), int(cols.max() - cols.min())) + 1
    return extent - p + 1


class ExportedRunner:
    """(1, 3, H, W) in [-1, 1], any size -> same, through a fixed-size exported artifact.

    Local models (BatchNorm or no norm) run tile by tile with overlaps from their receptive field.
    Models that normalise per image (InstanceNorm) cannot be tiled: an artifact computes the
    statistics of whatever it is given. They run on the whole image: at full size when the
    artifact takes any size (ONNX ``--dynamic-size``), else resized to the artifact's size and
    back (a warning says so once). A context student (:mod:`mobilegan.models.context`) is local
    apart from its context, so its fixed-size file runs in tiles, each taking its own context; a
    dynamic-size ONNX runs the whole photo at full size, with the whole photo's context. The
    norm, the context and the receptive field come from ``model.json``'s config, or, without a card,
    from probing the artifact (a context student then looks per-image: it runs whole).
    """

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        self.path = path
        card, entry = _card(path)
        self.in_range = tuple((entry or {}).get("input", {}).get("range", [0, 1]))
        self.out_range = tuple((entry or {}).get("output", {}).get("range", [0, 1]))
        shape: list | None
        if suffix == ".pte":
            self.fn, shape = open_pte(path)
        elif suffix == ".onnx":
            self.fn, shape = open_onnx(path)
        elif suffix == ".mlpackage":
            self.fn, shape = _open_coreml(path)
        elif suffix == ".tflite":
            from mobilegan.export.litert_runtime import open_tflite

            self.fn, shape = open_tflite(path)  # NCHW float in and out, whatever the file's layout
            shape = list(shape)
        else:
            raise MobileganError(f"{path}: unknown model type {suffix}")
        if entry is not None:
            shape = entry["input"]["shape"]
            if entry["input"].get("layout") == "NHWC" and len(shape) == 4:  # LiteRT: (N, H, W, C)
                shape = [shape[0], shape[3], shape[1], shape[2]]
        self.size: int | None = None
        if shape is not None and all(isinstance(s, int) for s in shape[-2:]):
            if shape[-1] != shape[-2]:
                raise MobileganError(f"{path}: non-square fixed input {shape[-2:]} is not supported by translate")
            self.size = int(shape[-1])
        if (entry or {}).get("dynamic_hw"):
            self.size = None
        described = describe_config(card["config"]) if card and isinstance(card.get("config"), dict) else None
        if described is None:
            rf = probe_receptive_field(self._in_unit_range, self.size or 128)
            described = CardFacts(whole=rf is None, own_context=False, receptive_field=rf or 0, multiple=4)
            log.info("%s: no usable model.json; probed: %s", path.name,
                     "per-image normalisation" if rf is None else f"receptive field {rf} px")
        self.per_image_norm, self.receptive_field, self.multiple = (described.whole, described.receptive_field,
                                                                    described.multiple)
        # A context student's fixed-size file reads its context from what it is given: on a photo
        # larger than its input, each tile takes its own. Against the teacher's whole-photo output on
        # the demo's photo at 741x500 to 2964x2000 (256 px tiles): 32.6-34.0 dB, within 0.1-1.0 dB of
        # the checkpoint with the whole photo's context, and 39.7-44.6 dB from it (BENCHMARKS.md,
        # "Context of a large photo"); resizing the photo to the input instead: 20.6 dB at 741x500.
        self.own_context = described.own_context
        self._warned = False
        self._told = False

    def _in_unit_range(self, x: torch.Tensor) -> torch.Tensor:  # [0, 1] in, anything out (probing)
        return self._call(x * 2 - 1)

    def _call(self, x: torch.Tensor) -> torch.Tensor:  # [-1, 1] -> [-1, 1]
        lo, hi = self.in_range
        y = self.fn(((x + 1) / 2) * (hi - lo) + lo)
        lo, hi = self.out_range
        return ((y.float() - lo) / (hi - lo)) * 2 - 1

    def _whole(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image normalisation: one pass over the whole image (resized to a fixed input)."""
        padded, (h, w) = pad_to_multiple(x, self.multiple)
        if self.size is None:
            return self._call(padded)[..., :h, :w]
        s = self.size
        if (h, w) == (s, s):
            return self._call(x)
        if not self._warned:
            log.warning("%s reads each input as a whole (InstanceNorm, image context or U-Net) and takes %dx%d pixels: "
                        "translating every image whole at %dx%d and resizing back (tiles would each get their "
                        "own statistics); for full resolution use the checkpoint or export ONNX with --dynamic-size",
                        self.path.name, s, s, s, s)
            self._warned = True
        small = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        y = self._call(small)
        return F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False, antialias=max(h, w) < s)

    def __call__(self, x: torch.Tensor, tile: TileConfig) -> torch.Tensor:
        if self.per_image_norm:
            return self._whole(x)
        padded, (h, w) = pad_to_multiple(x)
        if self.own_context and self.size is not None and max(padded.shape[-2:]) > self.size and not self._told:
            log.info("%s: a context student with a fixed %d px input: each tile takes its own image-wide context",
                     self.path.name, self.size)
            self._told = True
        if self.size is None:  # dynamic H/W (ONNX exported with dynamic axes)
            if max(padded.shape[-2:]) <= tile.tile or self.own_context:
                # a context student runs whole at any size: its context is the whole photo's, as the
                # checkpoint's is (mobile_s2d4_w025_ctx on a 12 MP photo: 1.7 GB, 3.8 s on 2 cores)
                return self._call(padded)[..., :h, :w]
            return run_tiled(self._call, padded, plan_tiles(tile, self.receptive_field))[..., :h, :w]
        s = self.size
        ph, pw = max(0, s - padded.shape[-2]), max(0, s - padded.shape[-1])
        if ph or pw:
            mode = "reflect" if padded.shape[-2] > ph and padded.shape[-1] > pw else "replicate"
            padded = F.pad(padded, (0, pw, 0, ph), mode=mode)
        plan = plan_tiles(tile, self.receptive_field, tile=s)
        if not plan.exact and not self._warned and max(padded.shape[-2:]) > s:
            log.warning("%s takes %dx%d pixels, small for its %d px receptive field: tiles cannot match a "
                        "whole-image run exactly (export at a larger --size, or use the checkpoint)",
                        self.path.name, s, s, self.receptive_field)
            self._warned = True
        return run_tiled(self._call, padded, plan)[..., :h, :w]


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
