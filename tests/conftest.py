"""Suite-wide guards: every test runs in its own temporary folder, and the checkout is unchanged after the suite.

Commands write relative to the working directory (``runs/latest.json``, ``runs/distill-<time>/``,
``export/``), so a test or subprocess started from the checkout would write into it, and a later
argument-less ``mobilegan export`` would pick up a pytest student. The session starts in a
temporary folder (module-scoped fixtures run there too) and each test in its own ``tmp_path``;
subprocesses inherit that. At the end, the untracked and ignored files of the checkout (outside
tool folders such as ``.venv``) must be exactly those that were there at the start, with the same
size and modification time (files committed meanwhile excepted); otherwise the session fails
with the list of changed paths.

Under pytest-xdist (``make test`` runs ``-n 2``) each worker computes with one thread: torch, OpenMP
in subprocesses, and the ExecuTorch runtime's threadpool (which ignores torch's setting and defaults
to the number of cores; DESIGN.md section 3), so two workers do not fight over two cores.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # before torch is imported anywhere in this worker
    os.environ["OMP_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parent.parent
# Tool folders that tests and their tooling may legitimately fill.
SKIPPED_NAMES = frozenset({".venv", "venv", "node_modules", ".pytest_cache", "__pycache__", ".hypothesis",
                           ".benchmarks", ".mypy_cache", ".ruff_cache", ".git"})

Snapshot = dict[str, tuple[int, int]]  # repo-relative path -> (size, mtime_ns)


def _skipped(rel: str) -> bool:
    return any(part in SKIPPED_NAMES or part.endswith(".egg-info") for part in Path(rel).parts)


def _stat_into(snapshot: Snapshot, path: Path) -> None:
    try:
        st = path.stat()
    except OSError:  # vanished meanwhile
        return
    snapshot[path.relative_to(REPO).as_posix()] = (st.st_size, st.st_mtime_ns)


def checkout_snapshot() -> Snapshot | None:
    """Untracked and ignored files under the repository root (None when this is not a git checkout)."""
    try:
        listing = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain=v1", "-z", "--ignored=matching",
                                  "--untracked-files=normal"], capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    snapshot: Snapshot = {}
    for entry in listing.decode("utf-8", "surrogateescape").split("\0"):
        if not entry.startswith(("?? ", "!! ")) or _skipped(entry[3:]):
            continue
        path = REPO / entry[3:]
        if not path.is_dir():
            _stat_into(snapshot, path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d not in SKIPPED_NAMES and not d.endswith(".egg-info")]
            for name in files:
                _stat_into(snapshot, Path(root) / name)
    return snapshot


def tracked(paths: list[str]) -> set[str]:
    """Which of ``paths`` git tracks now (an untracked file committed meanwhile is no test's doing)."""
    if not paths:
        return set()
    try:
        listing = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--", *paths], capture_output=True,
                                 check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {p for p in listing.decode("utf-8", "surrogateescape").split("\0") if p}


def describe_changes(before: Snapshot, after: Snapshot) -> list[str]:
    added = [f"new      {p}" for p in sorted(set(after) - set(before))]
    gone = sorted(set(before) - set(after))
    committed = tracked(gone)
    removed = [f"removed  {p}" for p in gone if p not in committed]
    changed = [f"changed  {p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return added + removed + changed


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import torch

    torch.set_num_threads(1)
    try:  # before any program is loaded: resetting it after a program ran hung once (DESIGN.md section 3)
        from executorch.extension.pybindings import portable_lib
    except ImportError:
        return
    reset = getattr(portable_lib, "_unsafe_reset_threadpool", None)
    if reset is not None:
        reset(1)


@pytest.fixture(scope="session", autouse=True)
def _checkout_stays_unchanged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = checkout_snapshot()
    start = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("session-cwd"))
    try:
        yield
    finally:
        os.chdir(start)
    after = checkout_snapshot()
    if before is not None and after is not None:
        changes = describe_changes(before, after)
        assert not changes, ("the test session wrote into the checkout (tests must use tmp_path; in a checkout shared "
                             "with people editing it, their new files show here too):\n  " + "\n  ".join(changes))


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
