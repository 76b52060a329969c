"""Two CPU processes with gloo under torchrun: DDP training runs and its result loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers_train import TINY_MODEL, cli_env, make_domains
from mobilegan.checkpoints import load_generator
from mobilegan.train import load_training_state, read_metrics


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
