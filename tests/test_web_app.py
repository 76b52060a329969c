"""The web app in a real headless Chromium: self-test, one stylized photo, benchmark JSON.

The page runs the exported ONNX model with onnxruntime-web (wasm); its output pixels must match
eager PyTorch on the same photo (PSNR >= 40 dB), its benchmark file must validate against
apps/bench-result.schema.json, the self-test must use the artifact's own threshold and pass while
Chromium's fake camera streams, and the photo label must look disabled while its input is.
`make web-deps` installs chromium and the npm packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers_apps import eager_pixels, psnr, sample_photo, write_onnx_export
from mobilegan.export.app_install import install_to_app

pytestmark = pytest.mark.slow  # exports and runs the web app in a browser: `make test` runs it, `make test-fast` does not

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "apps" / "web"
CHROMIUM = Path("/usr/bin/chromium")
NODE = shutil.which("node")

needs_browser = pytest.mark.skipif(
    NODE is None or not CHROMIUM.exists(),
    reason="needs node and /usr/bin/chromium (run `make web-deps`)",
)


def _require_node_modules() -> None:
    for package in ("onnxruntime-web", "playwright-core"):
        if not (WEB / "node_modules" / package).is_dir():
            pytest.fail(f"apps/web/node_modules/{package} missing: run `make web-deps` (npm ci in apps/web)")


def _export(out: Path) -> tuple[Path, object]:
    """An ONNX export folder + the eager [0, 1] -> [0, 1] module it must reproduce.

    Uses the real exporter (``mobilegan.export.pipeline.export_model``, what ``mobilegan export
    --target onnx`` runs) when it is in the package; otherwise writes the documented layout itself.
    """
    try:
        from mobilegan.export.pipeline import export_model
    except ImportError:
        return write_onnx_export(out)
    from helpers_apps import PixelWrapper, tiny_generator
    from mobilegan.checkpoints import load_generator, save_generator

    ckpt = save_generator(tiny_generator(), out.parent / "tiny_student.pt")
    export_model(ckpt, targets=["onnx"], out_dir=out, size=64)
    return out, PixelWrapper(load_generator(ckpt)).eval()


@pytest.fixture(scope="module")
def web_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, dict]:
    """Export, then install into a scratch copy of the apps tree (as `--app web` would)."""
    root = tmp_path_factory.mktemp("web")
    export_dir, wrapper = _export(root / "export")
    apps_root = root / "apps"
    (apps_root / "web").mkdir(parents=True)
    installed = install_to_app(export_dir, "web", apps_root=apps_root)
    model_dir = apps_root / "web" / "model"
    assert model_dir / "model.json" in installed
    card = json.loads((model_dir / "model.json").read_text())
    return model_dir, wrapper, card


def _run_page(model_dir: Path, work: Path, photo: np.ndarray) -> dict:
    _require_node_modules()
    image = work / "photo.png"
    Image.fromarray(photo).save(image)
    out = work / "result.json"
    cmd = [NODE, "tests/e2e.mjs", "--model-dir", str(model_dir), "--image", str(image), "--out", str(out),
           "--chromium", str(CHROMIUM)]
    proc = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"browser run failed: {proc.stderr.strip()[-2000:]}"
    return json.loads(out.read_text())


@needs_browser
def test_browser_output_matches_pytorch(web_model, tmp_path: Path) -> None:
    import jsonschema

    model_dir, wrapper, card = web_model
    size = card["size"][0]
    photo = sample_photo(size)
    result = _run_page(model_dir, tmp_path, photo)

    assert result["pageErrors"] == [], result["pageErrors"]
    # self-test in the page: every vector from model.json at the exporter's threshold
    selftest = result["selftest"]
    assert selftest["pass"] is True, selftest
    assert len(selftest["cases"]) == len(card["selftest"]["inputs"])
    onnx = next(a for a in card["artifacts"] if a["target"] == "onnx")
    assert selftest["threshold_db"] == onnx["selftest_min_psnr_db"] == 60

    # the photo through the file picker: browser pixels vs eager PyTorch
    out = result["output"]
    assert (out["width"], out["height"]) == (size, size)
    rgba = np.asarray(out["rgba"], dtype=np.uint8).reshape(size, size, 4)
    browser = rgba[..., :3].astype(np.float64) / 255.0
    expected = eager_pixels(wrapper, photo)
    assert expected.std() > 0.05, "test model output is too flat to prove anything"
    assert psnr(browser, expected) >= 40.0
    assert psnr(browser, np.full_like(expected, expected.mean())) < 30.0  # a flat image would not pass

    # benchmark: downloaded JSON in the mobilegan.bench/1 schema
    bench = json.loads(Path(result["benchPath"]).read_text())
    schema = json.loads((REPO / "apps" / "bench-result.schema.json").read_text())
    jsonschema.validate(bench, schema)
    row = bench["rows"][0]
    assert (row["model"], row["runtime"], row["precision"], row["runs"]) == (
        card["name"], "onnxruntime-web-wasm", "fp32", 5)
    assert row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
    assert "median of last 1" in result["latencyText"]

    # the photo label (it wraps a hidden input) must look disabled while the input is
    label = result["label"]
    assert label["enabled"] == {"opacity": "1", "cursor": "pointer"}, label
    assert float(label["disabled"]["opacity"]) < 1 and label["disabled"]["cursor"] == "not-allowed", label

    # the self-test while the fake camera streams: camera frames pause for it and resume after
    camera = result["camera"]
    assert camera["report"]["pass"] is True, camera["report"]
    assert camera["cameraButton"] == "Start camera"


@needs_browser
def test_browser_selftest_reports_a_wrong_model(web_model, tmp_path: Path) -> None:
    """Expected vectors that do not match the model must make the page say FAIL."""
    model_dir, _, card = web_model
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    first = broken / card["selftest"]["expected"][0]
    values = np.fromfile(first, dtype="<f4")
    (1.0 - values).astype("<f4").tofile(first)  # an inverted image
    result = _run_page(broken, tmp_path, sample_photo(card["size"][0]))
    cases = result["selftest"]["cases"]
    assert result["selftest"]["pass"] is False
    assert [c["pass"] for c in cases] == [False] + [True] * (len(cases) - 1)


def test_web_units_in_node() -> None:
    """Pure JS helpers (quantiles, PSNR, model.json parsing) under `node --test`."""
    if NODE is None:
        pytest.skip("needs node (run `make web-deps`)")
    proc = subprocess.run([NODE, "--test", "tests/unit.test.mjs"], cwd=WEB, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
