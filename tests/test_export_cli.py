"""``mobilegan export`` / ``mobilegan verify`` user errors: one line on stderr, exit 2, no files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mobilegan.checkpoints import save_generator
from mobilegan.cli.main import main
from mobilegan.models import create_model


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_generator(create_model("mobile_w0125"), tmp_path / "s.pt")


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert expected in err
    assert "Traceback" not in err


def test_unknown_target(capsys, ckpt: Path, tmp_path: Path) -> None:
    _fails(capsys, ["export", str(ckpt), "--target", "tflite", "--out", str(tmp_path / "o")], "unknown export target 'tflite'")
    assert not (tmp_path / "o").exists()


def test_size_not_multiple_of_4(capsys, ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", str(ckpt), "--target", "onnx", "--size", "30", "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "multiple of 4" in err
    assert not (tmp_path / "o").exists()


def test_app_without_its_runtime_fails_before_exporting(capsys, ckpt: Path, tmp_path: Path) -> None:
    _fails(capsys, ["export", str(ckpt), "--target", "onnx", "--app", "ios", "--size", "32", "--out", str(tmp_path / "o")],
           "add --target coreml")
    assert not (tmp_path / "o").exists()


def test_missing_checkpoint(capsys, tmp_path: Path) -> None:
    _fails(capsys, ["export", str(tmp_path / "nope.pt"), "--target", "onnx", "--out", str(tmp_path / "o")],
           "no such checkpoint file")
    assert not (tmp_path / "o").exists()


def test_no_checkpoint_and_no_distilled_student(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _fails(capsys, ["export", "--target", "onnx", "--out", "o"], "run `mobilegan distill` here first")


def test_not_a_generator(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "opt.pt"
    torch.save({"state": {}, "param_groups": []}, bad)
    _fails(capsys, ["export", str(bad), "--target", "onnx", "--out", str(tmp_path / "o")], "not a generator checkpoint")


def test_missing_calibration_folder(capsys, ckpt: Path, tmp_path: Path) -> None:
    _fails(capsys, ["export", str(ckpt), "--target", "onnx", "--calib-data", str(tmp_path / "none"),
                    "--out", str(tmp_path / "o")], "calibration folder not found")


def test_verify_without_model_card(capsys, tmp_path: Path) -> None:
    _fails(capsys, ["verify", str(tmp_path)], "no model card")


@pytest.mark.slow
def test_latest_student_is_used_and_named(capsys, ckpt: Path, tmp_path: Path, monkeypatch) -> None:
    from mobilegan.runs import record_latest_student

    monkeypatch.chdir(tmp_path)
    record_latest_student(ckpt)
    assert main(["export", "--target", "onnx", "--size", "32", "--out", "o"]) == 0
    captured = capsys.readouterr()
    assert f"using the latest distilled student {ckpt.resolve()}" in captured.err
    assert captured.out.count(str(ckpt.resolve())) == 1  # named once (the summary), not twice
    assert "mobile_w0125_fp32.onnx" in captured.out and "PSNR" in captured.out
    assert main(["verify", "o"]) == 0
    assert "all runnable artifacts verified" in capsys.readouterr().out


# What third parties print during an export / verify / bench (issue 17): never on our terminal by default.
THIRD_PARTY_NOISE = ("cpuinfo", "_MLModelProxy", "has not been tested", "_pytree", "unused nodes", "unused functions",
                     "PassManager", "CoreMLPartitioner", "Running MIL", "Converting PyTorch", "scikit-learn",
                     "Skipping op", ".tmp", "Warning")


def _cli(*argv: str) -> tuple[str, str]:
    import subprocess
    import sys

    from helpers_train import cli_env

    done = subprocess.run([sys.executable, "-m", "mobilegan", *argv], capture_output=True, text=True, env=cli_env(),
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def _noise(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(marker in line for marker in THIRD_PARTY_NOISE)]


@pytest.mark.slow
def test_export_all_means_all_quietly_and_says_what_is_unchecked(tmp_path: Path) -> None:
    import json

    torch.manual_seed(0)
    ckpt = save_generator(create_model("mobile_w0125", n_blocks=1).eval(), tmp_path / "s.pt")
    out, err = _cli("export", str(ckpt), "--target", "all", "--size", "32", "--calib-count", "2",
                    "--out", str(tmp_path / "exp"))
    card = json.loads((tmp_path / "exp" / "model.json").read_text())
    made = {(a["target"], a["precision"]) for a in card["artifacts"]}
    assert {("executorch", "fp32"), ("executorch", "int8"), ("onnx", "fp32"), ("coreml", "fp16"),
            ("executorch-coreml", "fp16")} <= made
    unchecked = {a["file"]: a["unchecked"] for a in card["artifacts"] if not a["parity"]}
    assert list(unchecked) == ["s_coreml_fp16.pte"] and "Apple devices" in unchecked["s_coreml_fp16.pte"]
    assert "s_coreml_fp16.pte" in out and "NOT CHECKED here: the Core ML delegate runs only on Apple devices" in out
    for artifact in card["artifacts"]:  # each result once: in the summary, not again in the log
        assert (out + err).count(f"{artifact['file']} ") == 1, artifact["file"]
    assert "PSNR" not in err and not _noise(out + err), _noise(out + err)

    out, err = _cli("verify", str(tmp_path / "exp"))
    assert "skipped s_coreml_fp16.pte" in out.replace("  ", " ") and "Apple devices" in out
    assert out.count("s_fp32.pte ") == 1 and "PSNR" not in err and not _noise(out + err), _noise(out + err)
    out, err = _cli("bench", str(tmp_path / "exp"), "--runs", "2", "--warmup", "1", "--threads", "1", "--no-progress")
    assert "executorch-xnnpack" in out and not _noise(out + err), _noise(out + err)

    _, err = _cli("--debug", "export", str(ckpt), "--target", "onnx", "--size", "32", "--out", str(tmp_path / "dbg"))
    assert _noise(err), "--debug shows the libraries' own output"
