"""End-to-end exports at 64 px: parity per target, int8, delegation, model.json, verify, and
the proofs that a wrong artifact is rejected and that failures leave the old files alone.

Lowering is slow on 2 cores, so each export runs once per module (module-scoped fixtures)
and the tests inspect or copy its folder. Lowering time grows with the graph, so the exported
models have two residual blocks (all blocks are alike: the same ops, rewrites and delegation).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilegan.checkpoints import save_generator
from mobilegan.export.model_card import MODEL_CARD, read_card, validate_card
from mobilegan.export.parity import ParityError
from mobilegan.export.pipeline import export_model
from mobilegan.export.verify import verify_export
from mobilegan.models import DEFAULT_STUDENT, create_model
from mobilegan.utils.hashing import sha256_file

pytestmark = pytest.mark.slow  # exports to every target: `make test` runs it, `make test-fast` does not

SIZE = 64


def _write_images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:80, 0:96]
    for i in range(n):
        base = np.stack([np.sin(xx / (7 + i)) , np.cos(yy / (5 + i)), np.sin((xx + yy) / 11)], -1) * 0.4 + 0.5
        img = (base + rng.normal(0, 0.05, base.shape)).clip(0, 1)
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"img_{i}.png")
    return folder


@pytest.fixture(scope="module")
def student_export(tmp_path_factory) -> Path:
    """Default student, ExecuTorch fp32 + int8 (+ .bpte) and ONNX, calibrated on a small folder."""
    root = tmp_path_factory.mktemp("student")
    torch.manual_seed(0)
    # A shortened preset is no registry entry: the card and files take the checkpoint's stem, the preset's name.
    ckpt = save_generator(create_model(DEFAULT_STUDENT, n_blocks=2), root / f"{DEFAULT_STUDENT}.pt")
    calib = _write_images(root / "calib", 8)
    out = root / "out"
    export_model(ckpt, targets=["executorch", "onnx"], out_dir=out, size=SIZE, quantize="int8", calib_data=calib,
                 bundled=True)
    return out


@pytest.fixture(scope="module")
def teacher_export(tmp_path_factory) -> Path:
    """A narrow official-layout teacher (InstanceNorm, reflection pad): needs the rewrites."""
    root = tmp_path_factory.mktemp("teacher")
    torch.manual_seed(1)
    ckpt = save_generator(create_model("resnet_9blocks", ngf=8, n_blocks=2), root / "teacher.pt")
    out = root / "out"
    export_model(ckpt, targets=["executorch", "onnx"], out_dir=out, size=SIZE)
    return out


def _card(out: Path) -> dict:
    return json.loads((out / MODEL_CARD).read_text())


def _artifact(card: dict, file_end: str) -> dict:
    return next(a for a in card["artifacts"] if a["file"].endswith(file_end))


def test_student_files_and_model_card(student_export: Path) -> None:
    card = _card(student_export)
    validate_card(card)
    assert card["name"] == DEFAULT_STUDENT and card["size"] == [SIZE, SIZE]
    assert card["params"] > 0 and card["macs_compat"] >= card["macs"] > 0
    files = sorted(a["file"] for a in card["artifacts"])
    assert files == [f"{DEFAULT_STUDENT}_fp32.onnx", f"{DEFAULT_STUDENT}_fp32.pte", f"{DEFAULT_STUDENT}_int8.pte"]
    for art in card["artifacts"]:
        path = student_export / art["file"]
        assert sha256_file(path) == art["sha256"] and path.stat().st_size == art["bytes"]
        assert art["input"]["range"] == [0, 1] and art["input"]["shape"] == [1, 3, SIZE, SIZE]
    assert "calib-data" in card["source"]["images"]
    selftest = card["selftest"]
    assert len(selftest["inputs"]) == len(selftest["expected"]) == 4
    for rel in selftest["inputs"] + selftest["expected"]:
        assert (student_export / rel).stat().st_size == 3 * SIZE * SIZE * 4
    assert not [p for p in student_export.rglob("*") if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize("file_end,min_db", [("fp32.pte", 60), ("fp32.onnx", 60), ("int8.pte", 30)])
def test_student_parity(student_export: Path, file_end: str, min_db: float) -> None:
    parity = _artifact(_card(student_export), file_end)["parity"]
    assert parity["psnr_db"] >= min_db and parity["inputs"] == 4


def test_int8_is_smaller_than_fp32(student_export: Path) -> None:
    card = _card(student_export)
    assert _artifact(card, "int8.pte")["bytes"] < _artifact(card, "fp32.pte")["bytes"]


@pytest.mark.parametrize("file_end", ["fp32.pte", "int8.pte"])
def test_student_is_one_xnnpack_segment(student_export: Path, file_end: str) -> None:
    deleg = _artifact(_card(student_export), file_end)["delegation"]
    assert deleg == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


def test_bundled_program_self_checks(student_export: Path) -> None:
    from mobilegan.export.executorch import check_bundled

    bundled = _artifact(_card(student_export), "fp32.pte")["bundled"]
    path = student_export / bundled["file"]
    assert sha256_file(path) == bundled["sha256"]
    check_bundled(path, bundled["test_cases"])


def test_bundled_check_fails_on_wrong_expected_outputs(tmp_path: Path) -> None:
    from mobilegan.export.executorch import build_program, check_bundled, serialize_bundled
    from mobilegan.export.wrap import wrap_for_export

    torch.manual_seed(0)
    model = create_model("mobile_s2d4_w025", n_blocks=1).eval()
    lowered = build_program(model, size=(32, 32), precision="fp32")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = wrap_for_export(model)(x)
    check_bundled(serialize_bundled(lowered, tmp_path / "good.bpte", x, expected), 2)
    wrong = serialize_bundled(lowered, tmp_path / "wrong.bpte", x, expected + 0.01)  # 2.5 levels of 8 bits
    with pytest.raises(RuntimeError):
        check_bundled(wrong, 2)


def test_teacher_after_rewrite_is_one_segment_with_parity(teacher_export: Path) -> None:
    card = _card(teacher_export)
    assert card["config"]["norm"] == "instance" and card["config"]["padding"] == "reflect"
    pte = _artifact(card, "fp32.pte")
    assert pte["delegation"]["segments"] == 1 and pte["delegation"]["undelegated_ops"] == {}
    assert pte["parity"]["psnr_db"] >= 60
    assert _artifact(card, "fp32.onnx")["parity"]["psnr_db"] >= 60
    assert card["source"]["images"] == "synthetic"


def test_verify_passes_on_a_fresh_export(student_export: Path) -> None:
    before = (student_export / MODEL_CARD).read_bytes()
    report = verify_export(student_export)
    assert report.ok and {c.status for c in report.checks} == {"ok"}
    assert (student_export / MODEL_CARD).read_bytes() == before  # nothing written without --update


def _copy(src: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(src, dest)
    return dest


def test_verify_rejects_changed_weights(student_export: Path, tmp_path: Path) -> None:
    """Scale one ONNX weight and even fix up the sha256: parity must still catch it."""
    import onnx
    from onnx import numpy_helper

    folder = _copy(student_export, tmp_path)
    art = _artifact(_card(folder), "fp32.onnx")
    path = folder / art["file"]
    model = onnx.load(str(path))
    init = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 3.0, init.name))
    onnx.save(model, str(path))
    assert not verify_export(folder).ok  # hash mismatch
    card = _card(folder)
    _artifact(card, "fp32.onnx")["sha256"] = sha256_file(path)
    (folder / MODEL_CARD).write_text(json.dumps(card))
    report = verify_export(folder)
    [failed] = report.failed
    assert failed.file == art["file"] and failed.parity is not None and not failed.parity.passed


def test_verify_rejects_flipped_bytes(student_export: Path, tmp_path: Path) -> None:
    folder = _copy(student_export, tmp_path)
    path = folder / _artifact(_card(folder), "int8.pte")["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert [c.file for c in verify_export(folder).failed] == [path.name]


class _Perturbed(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) + 0.05


def test_export_with_wrong_output_is_rejected_and_old_files_stay(student_export: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import mobilegan.export.onnx as onnx_target
    from mobilegan.export.wrap import wrap_for_export

    folder = _copy(student_export, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    monkeypatch.setattr(onnx_target, "wrap_for_export", lambda g: _Perturbed(wrap_for_export(g)))
    torch.manual_seed(0)
    ckpt = save_generator(create_model(DEFAULT_STUDENT, n_blocks=2), tmp_path / f"{DEFAULT_STUDENT}.pt")  # the fixture's
    with pytest.raises(ParityError, match="parity check failed"):
        export_model(ckpt, targets=["onnx"], out_dir=folder, size=SIZE)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_interrupted_export_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the ONNX file was partly written: no file at the destination, no temp left."""
    import mobilegan.export.onnx as onnx_target

    def interrupted_save(module, path, *, size, dynamic=False):
        from mobilegan.utils.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(b"\x08\x09half an onnx file")
            raise KeyboardInterrupt

    monkeypatch.setattr(onnx_target, "export_onnx_file", interrupted_save)
    ckpt = save_generator(create_model("mobile_w0125"), tmp_path / "s.pt")
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        export_model(ckpt, targets=["onnx"], out_dir=out, size=32)
    assert list(out.rglob("*")) == []


def test_dynamic_onnx_and_card_merge(tmp_path: Path) -> None:
    """A dynamic-size ONNX export runs at other sizes; re-exporting into the same folder
    replaces its entry and keeps the other artifacts of the same checkpoint."""
    from dataclasses import replace

    from mobilegan.export.model_card import merge_artifacts
    from mobilegan.export.onnx import run_onnx

    ckpt = save_generator(create_model("mobile_w0125"), tmp_path / "s.pt")
    out = tmp_path / "out"
    card = export_model(ckpt, targets=["onnx"], out_dir=out, size=32, dynamic_size=True)
    assert [a["file"] for a in read_card(out).artifacts] == ["mobile_w0125_fp32.onnx"]
    assert card.artifacts[0]["dynamic_hw"] == {"multiple_of": 4}
    x = torch.rand(1, 3, 48, 40)  # another size: the graph is dynamic
    assert run_onnx(out / "mobile_w0125_fp32.onnx", x).shape == (1, 3, 48, 40)

    other = {**card.artifacts[0], "target": "executorch", "file": "mobile_w0125_fp32.pte"}
    old = replace(card, artifacts=(other, card.artifacts[0]))
    merged = merge_artifacts(old, card)
    assert sorted(a["file"] for a in merged.artifacts) == ["mobile_w0125_fp32.onnx", "mobile_w0125_fp32.pte"]
    foreign = replace(old, source={**old.source, "sha256": "f" * 64})
    assert [a["file"] for a in merge_artifacts(foreign, card).artifacts] == ["mobile_w0125_fp32.onnx"]
