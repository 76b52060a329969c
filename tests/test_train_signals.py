"""Real processes: SIGTERM / SIGINT save and exit cleanly, SIGKILL leaves a loadable checkpoint, and
``--resume`` finishes the run in every case."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers_train import TINY_MODEL, cli_env, make_domains, mobilegan_cmd, run_cli
from mobilegan.checkpoints import load_generator
from mobilegan.train import load_training_state, read_metrics

pytestmark = pytest.mark.slow  # trains in signalled subprocesses: `make test` runs it, `make test-fast` does not

TOTAL = 30


def _args(root: Path, out: Path, *extra: str) -> list[str]:
    return ["--data-a", str(root / "A"), "--data-b", str(root / "B"), "--size", "32", "--steps", str(TOTAL),
            "--out", str(out), "--device", "cpu", "--no-progress", "--log-every", "1", *TINY_MODEL, *extra]


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(mobilegan_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env())


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training exited early (rc {proc.returncode}): {err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path} did not appear in {timeout} s")
        time.sleep(0.05)


def _resume_and_check(root: Path, out: Path) -> None:
    done = run_cli(*_args(root, out, "--resume"))
    assert done.returncode == 0, done.stderr[-2000:]
    state, _ = load_training_state(out / "train_state.pt")
    assert state["step"] == TOTAL
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl")]
    assert steps == sorted(set(steps)) and steps[-1] == TOTAL  # no duplicated or lost tail
    assert load_generator(out / "G_AB.pt") is not None


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_state_exits_cleanly_and_resumes(tmp_path: Path, sig: signal.Signals) -> None:
    make_domains(tmp_path)
    out = tmp_path / "run"
    proc = _start(_args(tmp_path, out, "--sample-every", "2", "--save-every", "0"))
    _wait_for(out / "samples" / "step_000002.png", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and sig.name in err
    state, _ = load_training_state(out / "train_state.pt")
    assert 2 <= state["step"] < TOTAL
    assert load_generator(out / "G_AB.pt") is not None
    _resume_and_check(tmp_path, out)


@pytest.mark.slow
def test_sigkill_leaves_last_checkpoint_loadable_and_resume_continues(tmp_path: Path) -> None:
    make_domains(tmp_path)
    out = tmp_path / "run"
    proc = _start(_args(tmp_path, out, "--sample-every", "0", "--save-every", "2"))
    _wait_for(out / "train_state.pt", proc)
    time.sleep(random.uniform(0.0, 0.6))  # somewhere in the middle of steps / saves
    proc.kill()
    proc.communicate(timeout=60)
    state, _ = load_training_state(out / "train_state.pt")
    assert state["step"] % 2 == 0 and state["step"] >= 2
    assert load_generator(out / "G_AB.pt") is not None
    _resume_and_check(tmp_path, out)
