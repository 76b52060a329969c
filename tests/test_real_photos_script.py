"""``scripts/real_photos.py`` (issue 31 item 1) on a tiny stand-in dataset: it runs distill and eval as a
user would, tabulates the worst photo, reuses finished runs and the shared target cache.

The real benchmark needs ``../shared/data/horse2zebra`` and an hour of CPU; this checks the plumbing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_distill import write_images, write_teacher

pytestmark = pytest.mark.slow  # runs distill and eval as processes

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "real_photos.py"


def _run(tmp_path: Path, teacher: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tmp_path / "h2z"), "--teacher", f"tiny={teacher}",
         "--photos", "3", "--steps", "2", "--recipe", "--size 16 --preprocess crop --batch-size 2 --eval-size 32",
         "--extra", "--tone-views 1 --tone 1 --save-every 0 --sample-every 0", "--other", str(tmp_path / "other"),
         "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_real_photo_benchmark_runs_scores_and_resumes(tmp_path: Path) -> None:
    for split, n in (("trainA", 5), ("testA", 3)):
        write_images(tmp_path / "h2z" / split, n, side=40, seed=len(split))
    write_images(tmp_path / "other", 2, side=48, seed=9)
    teacher = write_teacher(tmp_path / "latest_net_G_A.pth", "official")
    first = _run(tmp_path, teacher)
    assert first.returncode == 0, first.stderr[-2000:]
    result = json.loads((tmp_path / "out" / "tiny_3" / "result.json").read_text())
    assert result["photos"] == 3 and len(list((tmp_path / "out" / "data" / "train3").iterdir())) == 3
    assert result["psnr_db_min"] <= result["psnr_db_p5"] <= result["psnr_db"]
    assert result["worst"][0]["image"].startswith("img_") and result["peak_rss_gb"] > 0
    assert "other_psnr_db_min" in result and Path(result["other_worst_grid"]).is_file()
    assert Path(result["worst_grid"]).is_file()
    assert f"| tiny | 3 | --tone-views 1" in first.stdout and result["worst"][0]["image"] in first.stdout
    cache = tmp_path / "out" / "cache" / "tiny_3_v1"
    assert json.loads((cache / "manifest.json").read_text())["views"] == 3
    again = _run(tmp_path, teacher)  # finished runs are read back, not run again
    assert again.returncode == 0 and "done before" in again.stderr
    assert again.stdout == first.stdout
