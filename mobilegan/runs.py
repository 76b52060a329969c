"""Run folders under ``runs/`` and the record of the last distilled student.

``mobilegan distill`` calls :func:`record_latest_student`; ``mobilegan export`` with no
checkpoint argument calls :func:`latest_student`. The record lives in ``runs/latest.json``
relative to the working directory, so each project folder has its own.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from mobilegan.utils.atomic import atomic_write_text

RUNS_DIR = Path("runs")
LATEST_FILE = "latest.json"


def new_run_dir(kind: str, root: Path = RUNS_DIR) -> Path:
    """A fresh folder ``runs/<kind>-YYYYmmdd-HHMMSS[-n]``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / f"{kind}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def record_latest_student(student: Path, root: Path = RUNS_DIR) -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = _read(root)
    data["student"] = str(Path(student).resolve())
    atomic_write_text(root / LATEST_FILE, json.dumps(data, indent=2) + "\n")


def latest_student(root: Path = RUNS_DIR) -> Path | None:
    """The student recorded by the last ``mobilegan distill`` here, if it still exists."""
    value = _read(root).get("student")
    if not value:
        return None
    path = Path(value)
    return path if path.is_file() else None


def _read(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / LATEST_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
