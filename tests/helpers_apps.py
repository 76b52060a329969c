"""Export folders for the app tests, following docs/model-json.md.

``make_onnx_export`` prefers the real exporter (``mobilegan export --target onnx``) when the
package has it; until then it writes the same layout itself: a wrapped generator whose graph
takes [0, 1] NCHW pixels and returns [0, 1] (the [-1, 1] normalisation lives inside the graph),
``model.json`` and raw float32 self-test vectors with their eager PyTorch outputs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mobilegan.models import create_model

SIZE = 64


class PixelWrapper(nn.Module):
    """[0, 1] pixels in, [0, 1] pixels out, around a [-1, 1] generator."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) in [0, 1]
        return (self.generator(image * 2.0 - 1.0) + 1.0) * 0.5


def tiny_generator(seed: int = 0, size: int = SIZE) -> nn.Module:
    """A random-init student whose BatchNorm statistics are calibrated, so its output varies per pixel."""
    torch.manual_seed(seed)
    model = create_model("mobile_w0125")
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration batch
    x = torch.from_numpy(sample_photo(size).astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    model.train()
    with torch.no_grad():
        model(torch.cat([x, x.flip(-1), torch.rand(2, 3, size, size) * 2 - 1]))
    return model.eval()


def sample_photo(size: int = SIZE) -> np.ndarray:
    """A natural photograph (scikit-image's astronaut), resized to (size, size, 3) uint8."""
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def eager_pixels(wrapper: nn.Module, rgb: np.ndarray) -> np.ndarray:
    """Eager PyTorch output for a uint8 HWC image, as float [0, 1] HWC."""
    x = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = wrapper(x)
    return y[0].permute(1, 2, 0).clamp(0, 1).numpy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _io(name: str, size: int) -> dict[str, Any]:
    return {"name": name, "shape": [1, 3, size, size], "layout": "NCHW", "dtype": "float32", "range": [0, 1]}


def write_onnx_export(out: Path, *, size: int = SIZE, seed: int = 0) -> tuple[Path, nn.Module]:
    """Write ``tiny.onnx``, ``model.json`` and ``selftest/`` into ``out``; return (out, wrapper)."""
    out.mkdir(parents=True, exist_ok=True)
    wrapper = PixelWrapper(tiny_generator(seed, size)).eval()
    example = torch.rand(1, 3, size, size)
    onnx_path = out / "tiny.onnx"
    program = torch.onnx.export(
        wrapper, (example,), dynamo=True, input_names=["image"], output_names=["stylized"], opset_version=18
    )
    program.save(str(onnx_path))
    selftest = out / "selftest"
    selftest.mkdir(exist_ok=True)
    inputs = [sample_photo(size).astype(np.float32).transpose(2, 0, 1)[None] / 255.0,
              np.random.default_rng(seed).random((1, 3, size, size), dtype=np.float32)]
    for i, x in enumerate(inputs):
        with torch.no_grad():
            y = wrapper(torch.from_numpy(np.ascontiguousarray(x))).numpy()
        (selftest / f"input_{i}.f32").write_bytes(np.ascontiguousarray(x, dtype="<f4").tobytes())
        (selftest / f"expected_{i}.f32").write_bytes(np.ascontiguousarray(y, dtype="<f4").tobytes())
    card = {
        "schema_version": 2,
        "name": "tiny_test_student",
        "mobilegan_version": "0.1.0",
        "created": "2026-01-01T00:00:00+00:00",
        "source": {"checkpoint": "random-init", "sha256": "0" * 64},
        "config": {},
        "params": sum(p.numel() for p in wrapper.parameters()),
        "macs": 0,
        "macs_compat": 0,
        "size": [size, size],
        "artifacts": [{
            "target": "onnx", "file": onnx_path.name, "precision": "fp32",
            "sha256": _sha256(onnx_path), "bytes": onnx_path.stat().st_size,
            "input": _io("image", size), "output": _io("stylized", size),
            "parity": {"reference": "eager fp32", "psnr_db": 100.0, "max_abs": 0.0, "inputs": 2, "threshold_db": 60},
            "exporter": {"torch": torch.__version__},
            "selftest_min_psnr_db": 60.0,
        }],
        "selftest": {
            "shape": [1, 3, size, size], "layout": "NCHW", "dtype": "float32", "range": [0, 1],
            "inputs": [f"selftest/input_{i}.f32" for i in range(len(inputs))],
            "expected": [f"selftest/expected_{i}.f32" for i in range(len(inputs))],
        },
    }
    (out / "model.json").write_text(json.dumps(card, indent=2))
    return out, wrapper


def real_exporter_available() -> bool:
    """True once the export engineer's ONNX exporter is in the package."""
    return importlib.util.find_spec("mobilegan.export.onnx") is not None


def write_fake_artifacts(out: Path, targets: dict[str, list[str]], *, selftest: bool = True) -> Path:
    """A model.json + placeholder files for install tests ({target: [file, ...]}; dirs end with '/')."""
    out.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for target, files in targets.items():
        for name in files:
            path = out / name.rstrip("/")
            if name.endswith("/"):
                (path / "Data").mkdir(parents=True, exist_ok=True)
                (path / "Manifest.json").write_text("{}")
            else:
                path.write_bytes(b"artifact " + name.encode())
            precision = "int8" if "int8" in name else "fp16" if target == "coreml" else "fp32"
            artifacts.append({"target": target, "file": name.rstrip("/"), "precision": precision})
    card: dict[str, Any] = {"schema_version": 1, "name": "fake", "size": [64, 64], "artifacts": artifacts}
    if selftest:
        (out / "selftest").mkdir(exist_ok=True)
        (out / "selftest" / "input_0.f32").write_bytes(b"\0" * 16)
        (out / "selftest" / "expected_0.f32").write_bytes(b"\0" * 16)
        card["selftest"] = {"inputs": ["selftest/input_0.f32"], "expected": ["selftest/expected_0.f32"]}
    (out / "model.json").write_text(json.dumps(card))
    return out


# --- the model.json the Android JVM unit tests parse --------------------------------------------

ANDROID_CARD_FIXTURE = Path(__file__).resolve().parent.parent / "apps/android/app/src/test/resources/model-card.json"


def contract_card() -> dict[str, Any]:
    """A model.json with one artifact of each kind the apps meet, built by the exporter's own card code."""
    from mobilegan.export import model_card as mc

    def artifact(target: str, file: str, precision: str, *, compression: str | None = None, image_io: bool = False,
                 **extra: Any) -> dict[str, Any]:
        def io(name: str) -> dict[str, Any]:
            if image_io:
                return {"name": name, "shape": [1, 3, 8, 8], "layout": "image", "dtype": "uint8", "color": "RGB",
                        "range": [0, 255]}
            return mc.io_spec(name, [1, 3, 8, 8])

        if image_io:
            extra["coreml"] = {"format": "mlprogram", "min_ios": 16, "compute_units": "all",
                               "weight_compression": compression, "fp32_ops": []}
        return mc.make_artifact(target=target, file=file, precision=precision, sha256="0" * 64, size_bytes=1,
                                input_spec=io("image"), output_spec=io("stylized"), exporter={"torch": "2.14.1"},
                                **extra)

    artifacts = (
        artifact("executorch", "m_fp32.pte", "fp32",
                 bundled={"file": "m_fp32.bpte", "sha256": "0" * 64, "bytes": 1, "test_cases": 1}),
        artifact("executorch", "m_int8.pte", "int8"),
        artifact("onnx", "m_fp32.onnx", "fp32"),
        artifact("coreml", "m_fp32.mlpackage", "fp32", image_io=True),
        artifact("coreml", "m_fp16.mlpackage", "fp16", image_io=True),
        artifact("coreml", "m_fp16_palettize6.mlpackage", "fp16", image_io=True, compression="palettize6"),
    )
    selftest = {"shape": [1, 3, 8, 8], "layout": "NCHW", "dtype": "float32", "range": [0, 1],
                "inputs": ["selftest/input_0.f32"], "expected": ["selftest/expected_0.f32"]}
    card = mc.ModelCard(name="contract", source={"checkpoint": "c.pt", "sha256": "0" * 64}, config={}, params=1,
                        macs=1, macs_compat=1, size=(8, 8), artifacts=artifacts, selftest=selftest,
                        created="2026-01-01T00:00:00+00:00", mobilegan_version="0")
    data = card.to_dict()
    mc.validate_card(data, where="contract card")
    return data


if __name__ == "__main__":  # regenerate the Android fixture: python tests/helpers_apps.py
    ANDROID_CARD_FIXTURE.write_text(json.dumps(contract_card(), indent=2) + "\n")
    print(f"wrote {ANDROID_CARD_FIXTURE}")
