"""Interrupted runs lose nothing: real processes killed at seeded random moments.

test_train_signals.py covers one SIGKILL and SIGTERM/SIGINT for ``mobilegan train``. Here:
- ``train`` is SIGKILLed several times in a row (each resume killed again) before it finishes;
- ``distill`` gets the same SIGKILL chain, and a real SIGINT / SIGTERM (save, exit 130, resume).
After every kill the last checkpoint and the training state load; ``--resume`` finishes the run
with every step logged exactly once. The kill moments come from a seeded RNG (reproducible
schedule; the exact step reached depends on machine speed, which the asserts allow for).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helpers_badinputs as bad
from helpers_train import TINY_MODEL, cli_env, make_domains
from mobilegan.checkpoints import load_generator
from mobilegan.train import load_training_state, read_metrics

pytestmark = pytest.mark.slow  # trains and distils in killed subprocesses: `make test` runs it, `make test-fast` does not

STATE = "train_state.pt"
KILLS = 3


def _cmd(command: str, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "mobilegan", command, *args]


def _train_args(root: Path, out: Path, total: int) -> list[str]:
    return ["--data-a", str(root / "A"), "--data-b", str(root / "B"), "--size", "32", "--steps", str(total),
            "--out", str(out), "--device", "cpu", "--no-progress", "--log-every", "1", "--sample-every", "0",
            "--save-every", "2", *TINY_MODEL]


def _distill_args(teacher: Path, data: Path, out: Path, total: int, *extra: str) -> list[str]:
    return ["--teacher", str(teacher), "--data-a", str(data), "--size", "32", "--steps", str(total),
            "--batch-size", "2", "--holdout", "2", "--student", "mobile_w0125", "--n-blocks", "1",
            "--out", str(out), "--device", "cpu", "--no-progress", "--log-every", "1", "--sample-every", "0",
            *extra]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _wait_for_new_save(state: Path, since: int, proc: subprocess.Popen[str], timeout: float = 180) -> bool:
    """Wait until ``state`` is rewritten after ``since``; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while _mtime(state) <= since:
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{state} was not saved within {timeout} s")
        time.sleep(0.02)
    return True


def _kill_chain(cmd_first: list[str], cmd_resume: list[str], out: Path, model_file: str, save_every: int,
                seed: int) -> list[int]:
    """SIGKILL the run ``KILLS`` times at seeded moments after a save; check the files after each kill."""
    rng = random.Random(seed)
    steps: list[int] = []
    for i in range(KILLS):
        since = _mtime(out / STATE)
        proc = subprocess.Popen(cmd_first if i == 0 else cmd_resume, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=cli_env())
        if not _wait_for_new_save(out / STATE, since, proc):
            _, err = proc.communicate()
            assert proc.returncode == 0, err[-2000:]
            break  # finished before we could kill it: nothing left to interrupt
        time.sleep(rng.uniform(0.0, 1.0))  # anywhere: mid-step, mid-save, mid-log
        proc.kill()
        proc.communicate(timeout=60)
        state, _ = load_training_state(out / STATE)
        step = int(state["step"])
        assert step % save_every == 0 or step == state.get("total_steps", step), step
        assert not steps or step >= steps[-1]  # never goes back
        steps.append(step)
        model = load_generator(out / model_file)  # the last checkpoint is whole
        assert model is not None
    return steps


def _finish(cmd_resume: list[str], out: Path, total: int, model_file: str) -> None:
    done = subprocess.run(cmd_resume, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    state, _ = load_training_state(out / STATE)
    assert state["step"] == total
    logged = [r["step"] for r in read_metrics(out / "metrics.jsonl")]
    assert logged == list(range(1, total + 1)), logged  # each step exactly once: none lost, none repeated
    assert load_generator(out / model_file) is not None


@pytest.mark.slow
def test_train_survives_repeated_sigkill(tmp_path: Path) -> None:
    make_domains(tmp_path)
    out, total = tmp_path / "run", 40
    args = _train_args(tmp_path, out, total)
    steps = _kill_chain(_cmd("train", args), _cmd("train", [*args, "--resume"]), out, "G_AB.pt", 2, seed=10)
    print("train killed after saved steps", steps)
    assert steps, "training finished before the first kill"
    _finish(_cmd("train", [*args, "--resume"]), out, total, "G_AB.pt")


@pytest.fixture(scope="module")
def distill_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("distill_inputs")
    return bad.tiny_generator(root, "teacher.pt"), bad.image_folder(root / "A", 6)


@pytest.mark.slow
def test_distill_survives_repeated_sigkill(tmp_path: Path, distill_inputs: tuple[Path, Path]) -> None:
    teacher, data = distill_inputs
    out, total = tmp_path / "run", 60
    args = _distill_args(teacher, data, out, total, "--save-every", "3")
    steps = _kill_chain(_cmd("distill", args), _cmd("distill", [*args, "--resume"]), out, "student.pt", 3, seed=11)
    print("distill killed after saved steps", steps)
    assert steps, "distillation finished before the first kill"
    _finish(_cmd("distill", [*args, "--resume"]), out, total, "student.pt")


@pytest.mark.slow
def test_distill_sigint_saves_exits_130_and_resumes(tmp_path: Path, distill_inputs: tuple[Path, Path]) -> None:
    # SIGTERM is covered in-process by test_distill_training.py; this is Ctrl-C in a real process.
    sig = signal.SIGINT
    teacher, data = distill_inputs
    out, total = tmp_path / "run", 80
    args = _distill_args(teacher, data, out, total, "--save-every", "0", "--sample-every", "2")
    proc = subprocess.Popen(_cmd("distill", args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env())
    sample = out / "samples" / "step_000002.png"
    deadline = time.monotonic() + 180
    while not sample.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "distill did not reach step 2"
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and sig.name in err
    state, _ = load_training_state(out / STATE)
    print("SIGINT saved at step", state["step"])
    assert 2 <= state["step"] < total
    assert load_generator(out / "student.pt") is not None  # usable output even when stopped
    resume = subprocess.run(_cmd("distill", [*args, "--resume"]), capture_output=True, text=True, env=cli_env(),
                            timeout=600)
    assert resume.returncode == 0, resume.stderr[-2000:]
    state, _ = load_training_state(out / STATE)
    assert state["step"] == total
    logged = [r["step"] for r in read_metrics(out / "metrics.jsonl")]
    assert logged == list(range(1, total + 1))


def test_write_killed_midway_leaves_old_file_and_next_write_sweeps_its_temporary(tmp_path: Path) -> None:
    """SIGKILL inside an atomic write: the old file survives; the next write removes the orphan."""
    import subprocess
    import sys

    from mobilegan.utils.atomic import atomic_write_text

    dest = tmp_path / "card.json"
    atomic_write_text(dest, "old")
    code = (
        "import os, signal, sys\n"
        "from mobilegan.utils.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(dest)], capture_output=True, timeout=120)
    assert proc.returncode == -9
    orphans = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(orphans) == 1 and dest.read_text() == "old"
    atomic_write_text(dest, "new")
    assert dest.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]
