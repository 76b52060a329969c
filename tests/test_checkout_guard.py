"""The conftest guard notices files a test leaves in (or changes under) a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import conftest


def test_snapshot_sees_new_changed_and_removed_untracked_or_ignored_files(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "checkout"
    (repo / "runs").mkdir(parents=True)
    (repo / ".venv").mkdir()
    (repo / ".gitignore").write_text("runs/\n.venv/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "runs" / "latest.json").write_text("{}")
    (repo / "notes.txt").write_text("untracked")
    monkeypatch.setattr(conftest, "REPO", repo)
    before = conftest.checkout_snapshot()
    assert before is not None and set(before) == {".gitignore", "runs/latest.json", "notes.txt"}

    (repo / "runs" / "latest.json").write_text('{"student": "/tmp/pytest-of-root/student.pt"}')
    (repo / "runs" / "distill-1").mkdir()
    (repo / "runs" / "distill-1" / "student.pt").write_bytes(b"x")
    (repo / "notes.txt").unlink()
    (repo / ".venv" / "tool-cache").write_text("ignored: a tool folder")
    changes = conftest.describe_changes(before, conftest.checkout_snapshot() or {})
    assert changes == ["new      runs/distill-1/student.pt", "removed  notes.txt", "changed  runs/latest.json"]

    (repo / "notes.txt").write_text("untracked")  # committed by a colleague meanwhile: not a test's doing
    before = conftest.checkout_snapshot() or {}
    subprocess.run(["git", "-C", str(repo), "add", "notes.txt"], check=True)
    assert conftest.describe_changes(before, conftest.checkout_snapshot() or {}) == []


def test_tests_start_in_their_own_temporary_folder(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path
    assert conftest.REPO not in Path.cwd().parents
