"""Atomic file writes: a temporary file in the destination folder, fsync, then rename.

A reader (or a crash, a full disk, a SIGKILL) sees either the old file or the complete new
one, never a half-written file. Temporary names are ``.NAME.pidPID.RANDOM.tmp``: easy to
recognise, and the next write to NAME removes those a killed process (a PID no longer
running) left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch

from mobilegan.errors import DiskFullError, is_disk_full


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success it is fsynced and renamed onto ``dest``.

    Works for files and for folders (e.g. a ``.mlpackage``): a folder is renamed into
    place after the old one is moved aside, then the old one is removed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(dest.parent, f".{dest.name}.")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.{pid_marker()}.", suffix=f"{suffix}.tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # the writer creates it (file or folder)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer did not create {tmp}")
        if tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        else:
            _replace_dir(tmp, dest)
        _fsync_dir(dest.parent)
    finally:
        _remove(tmp)


_PID_MARKER = re.compile(r"pid(\d+)[.-]")


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


def pid_marker() -> str:
    """``pid<PID>``: the part of a temporary name that tells :func:`sweep_stale_temporaries` its writer."""
    return f"pid{os.getpid()}"


def sweep_stale_temporaries(folder: Path, prefix: str) -> list[Path]:
    """Remove ``PREFIX`` + ``pid<PID>.`` (or ``-``) ... ``.tmp`` entries of ``folder`` whose writer is gone."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        name = path.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        match = _PID_MARKER.match(name, len(prefix))
        if match and int(match[1]) != os.getpid() and not _pid_running(int(match[1])):
            _remove(path)
            removed.append(path)
    return removed


def _replace_dir(src: Path, dest: Path) -> None:
    if not dest.exists():
        os.replace(src, dest)
        return
    old = dest.with_name(f".{dest.name}.{pid_marker()}.old.tmp")
    _remove(old)
    os.replace(dest, old)
    os.replace(src, dest)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def atomic_write(dest: str | os.PathLike[str], writer: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``writer(fh)`` on a temporary binary file, then move it onto ``dest``.

    A full disk raises :class:`DiskFullError` (an ``OSError``) naming ``dest``; ``dest`` is unchanged.
    """
    try:
        with atomic_path(dest) as tmp:
            with open(tmp, "wb") as fh:
                writer(fh)
                fh.flush()
                os.fsync(fh.fileno())
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFullError(errno.ENOSPC, f"no space left on device while writing {dest} "
                                "(the previous file is unchanged)", str(dest)) from None
        raise
    return Path(dest)


def atomic_write_bytes(dest: str | os.PathLike[str], data: bytes) -> Path:
    return atomic_write(dest, lambda fh: fh.write(data))


def atomic_write_text(dest: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(dest, text.encode("utf-8"))


def atomic_torch_save(obj: Any, dest: str | os.PathLike[str]) -> Path:
    """``torch.save`` that never leaves a partial file (the previous file survives any failure)."""
    return atomic_write(dest, lambda fh: torch.save(obj, fh))
