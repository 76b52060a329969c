"""A full disk during a save leaves the previous checkpoint intact.

A small tmpfs is mounted for each test (root only; skipped otherwise) and filled up between two
saves. The failing save must raise a clear error, leave the old file byte-identical, leave no
temporary file, and (for training) ``--resume`` must finish once space is back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import helpers_badinputs as bad
from helpers_train import TINY_MODEL, make_domains
from mobilegan.checkpoints import load_generator, save_generator
from mobilegan.cli.main import main
from mobilegan.errors import DiskFullError
from mobilegan.models import create_model
from mobilegan.train import load_training_state, read_metrics
from mobilegan.train.loop import _Checkpointer

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"),
                                reason="mounting a small tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path, leave: int = 16 * 1024) -> Path:
    """Take all free space on ``disk`` but ``leave`` bytes."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    filler = disk / "filler.bin"
    with open(filler, "wb") as fh:
        fh.truncate(0)
        chunk = b"\0" * (1 << 20)
        todo = max(free - leave, 0)
        while todo > 0:  # tmpfs allocates on write, so really write the bytes
            todo -= fh.write(chunk[: min(len(chunk), todo)])
    return filler


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fill_really_fills(small_disk: Path) -> None:
    fill(small_disk)
    with pytest.raises(OSError):
        (small_disk / "big").write_bytes(b"x" * (1 << 20))


def test_generator_save_on_a_full_disk_keeps_the_previous_file(small_disk: Path) -> None:
    path = small_disk / "G.pt"
    torch.manual_seed(0)
    save_generator(create_model("mobile_w0125", n_blocks=1), path)
    before = _digest(path)
    fill(small_disk)
    bigger = create_model("resnet_6blocks", ngf=16)  # several MB: cannot fit in what is left
    with pytest.raises(DiskFullError, match="no space left on device while writing .*G.pt"):
        save_generator(bigger, path)  # an OSError and a MobileganError: the CLI prints one line
    assert _digest(path) == before
    assert load_generator(path) is not None
    assert bad.leftovers(small_disk) == []  # the half-written temporary file was removed


def test_training_on_a_full_disk_stops_cleanly_and_resumes(small_disk: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    make_domains(tmp_path)
    out = small_disk / "run"
    argv = ["train", "--data-a", str(tmp_path / "A"), "--data-b", str(tmp_path / "B"), "--size", "32",
            "--steps", "4", "--save-every", "2", "--log-every", "1", "--sample-every", "0", "--out", str(out),
            "--device", "cpu", "--no-progress", *TINY_MODEL]
    original = _Checkpointer.save
    saved: dict[str, str] = {}

    def save_then_fill_disk(self: _Checkpointer, completed: int) -> None:
        original(self, completed)
        if completed == 2:  # the disk fills up between the step-2 and the step-4 saves
            saved.update({name: _digest(out / name) for name in ("G_AB.pt", "G_BA.pt", "train_state.pt")})
            fill(small_disk)

    torch.set_num_threads(1)
    with monkeypatch.context() as m:
        m.setattr(_Checkpointer, "save", save_then_fill_disk)
        rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0 and saved, err
    assert "Traceback" not in err and "internal error" not in err
    errors = [x for x in err.splitlines() if x.startswith("mobilegan train: ")]
    assert len(errors) == 1 and "space" in errors[0].lower(), err
    state, _ = load_training_state(out / "train_state.pt")
    assert state["step"] == 2
    assert _digest(out / "train_state.pt") == saved["train_state.pt"]
    for name in ("G_AB.pt", "G_BA.pt"):  # whole: the old file, or (outputs go first) a complete newer one
        assert load_generator(out / name) is not None
    assert bad.leftovers(out) == []

    (small_disk / "filler.bin").unlink()  # space is back: the run continues where it stopped
    assert main([*argv, "--resume"]) == 0, capsys.readouterr().err
    state, _ = load_training_state(out / "train_state.pt")
    assert state["step"] == 4
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3, 4]
