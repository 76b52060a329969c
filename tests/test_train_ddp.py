"""Two CPU processes with gloo under torchrun: DDP training runs and its result loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers_train import TINY_MODEL, cli_env, make_domains
from mobilegan.checkpoints import load_generator
from mobilegan.train import load_training_state, read_metrics

pytestmark = pytest.mark.slow  # trains with torchrun: `make test` runs it, `make test-fast` does not


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path: Path) -> None:
    make_domains(tmp_path, n_a=5, n_b=4)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mobilegan", "train", "--data-a", str(tmp_path / "A"), "--data-b", str(tmp_path / "B"),
           "--size", "32", "--steps", "4", "--out", str(out), "--device", "cpu", "--no-progress",
           "--log-every", "1", "--sample-every", "2", *TINY_MODEL]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained 4 steps") == 1  # only rank 0 reports
    state, config = load_training_state(out / "train_state.pt")
    assert state["step"] == 4 and state["world_size"] == 2
    assert not any(k.startswith("module.") for k in state["task"]["G_AB"])
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3, 4]
    model = load_generator(out / "G_AB.pt")
    assert model.config.ngf == 8
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]


@pytest.mark.slow
def test_torchrun_distill_shares_the_target_cache(tmp_path: Path) -> None:
    """Two ranks fill one whole-image target cache, each its share, and it equals a one-process cache."""
    import torch

    from helpers_distill import write_images, write_teacher
    from mobilegan.checkpoints import load_generator_checkpoint
    from mobilegan.distill.target_cache import TargetCache, build_cache, teacher_fingerprint

    data = write_images(tmp_path / "A", 20, side=32)
    teacher = write_teacher(tmp_path / "latest_net_G_A.pth", "official")  # InstanceNorm: whole-image targets
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mobilegan", "distill", "--teacher", str(teacher), "--data-a", str(data), "--size", "16",
           "--eval-size", "32", "--steps", "2", "--batch-size", "2", "--tone-views", "1", "--out", str(out),
           "--device", "cpu", "--no-progress", "--save-every", "0", "--sample-every", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "student.pt").is_file()
    files = sorted(p for p in data.iterdir())[:]
    model = load_generator_checkpoint(teacher).model
    manifest = (out / "target_cache" / "manifest.json").read_text()
    ref = TargetCache(tmp_path / "ref", [f for f in files if f.name in manifest], side=32, tone_views=1, seed=0,
                      teacher_id=teacher_fingerprint(model, extra="batch_stats=image"))
    build_cache(ref, model, torch.device("cpu"), progress=False)
    assert (tmp_path / "ref" / "manifest.json").read_text() == manifest  # the same photos, teacher and views
    for name in ("photos", "targets", "status"):
        assert (out / "target_cache" / f"{name}.u8").read_bytes() == (tmp_path / "ref" / f"{name}.u8").read_bytes()
