"""Space-to-depth students in the web app: onnxruntime-web (wasm) in headless Chromium runs the
exported ONNX graph (pixel (un)shuffle as DepthToSpace / SpaceToDepth or reshape + transpose) and
its pixels match eager PyTorch. Needs node, chromium and ``make web-deps`` (skipped otherwise)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_apps import PixelWrapper, eager_pixels, psnr, sample_photo
from mobilegan.checkpoints import load_generator, save_generator
from mobilegan.export.app_install import install_to_app
from mobilegan.export.pipeline import export_model
from mobilegan.models import create_model

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "apps" / "web"
CHROMIUM = Path("/usr/bin/chromium")
NODE = shutil.which("node")
SIZE = 64

pytestmark = [
    pytest.mark.slow,  # exports and runs a browser: `make test` runs it, `make test-fast` does not
    pytest.mark.skipif(
        NODE is None or not CHROMIUM.exists() or not (WEB / "node_modules" / "onnxruntime-web").is_dir(),
        reason="needs node, /usr/bin/chromium and apps/web/node_modules (run `make web-deps`)",
    ),
]


def _lively(model: torch.nn.Module) -> torch.nn.Module:
    """BatchNorm statistics from random images (default ones make a random student's output flat)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return model.eval()


def _onnx_op_types(path: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("name", ["mobile_s2d2_w025", "mobile_s2d4_w025"])
def test_browser_runs_space_to_depth_student(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    ckpt = save_generator(_lively(create_model(name, n_blocks=2)), tmp_path / f"{name}.pt")
    export_dir = tmp_path / "export"
    export_model(ckpt, targets=["onnx"], out_dir=export_dir, size=SIZE)
    onnx_file = next(export_dir.glob("*.onnx"))
    ops = _onnx_op_types(onnx_file)
    assert ops & {"DepthToSpace", "SpaceToDepth", "Reshape", "Transpose"}, sorted(ops)

    apps_root = tmp_path / "apps"
    (apps_root / "web").mkdir(parents=True)
    install_to_app(export_dir, "web", apps_root=apps_root)
    model_dir = apps_root / "web" / "model"
    photo = sample_photo(SIZE)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    out = tmp_path / "result.json"
    cmd = [NODE, "tests/e2e.mjs", "--model-dir", str(model_dir), "--image", str(tmp_path / "photo.png"),
           "--out", str(out), "--chromium", str(CHROMIUM)]
    proc = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"browser run failed: {proc.stderr.strip()[-2000:]}"
    result = json.loads(out.read_text())
    assert result["pageErrors"] == [], result["pageErrors"]
    assert result["selftest"]["pass"] is True, result["selftest"]
    rgba = np.asarray(result["output"]["rgba"], dtype=np.uint8).reshape(SIZE, SIZE, 4)
    expected = eager_pixels(PixelWrapper(load_generator(ckpt)).eval(), photo)
    assert expected.std() > 0.05, "test model output is too flat to prove anything"
    browser = rgba[..., :3].astype(np.float64) / 255.0
    assert psnr(browser, expected) >= 40.0
    assert psnr(browser, np.full_like(expected, expected.mean())) < 30.0  # a flat image would not pass
