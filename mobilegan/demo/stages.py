"""Resumable stages: each finished stage is recorded in ``RUN/stages.json`` and skipped next time."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mobilegan.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)
STAGES_FILE = "stages.json"


@dataclass
class StageRecord:
    name: str
    status: str  # done | skipped | failed
    seconds: float
    detail: str = ""
    result: dict[str, Any] = field(default_factory=dict)


class StageRunner:
    """Runs named stages in order; a stage already ``done`` in ``stages.json`` is reused."""

    def __init__(self, run_dir: Path, names: list[str]) -> None:
        self.run_dir = run_dir
        self.names = names
        self.path = run_dir / STAGES_FILE
        self.records: dict[str, StageRecord] = {}
        if self.path.is_file():
            try:
                for raw in json.loads(self.path.read_text()):
                    self.records[raw["name"]] = StageRecord(**raw)
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("%s is unreadable; running every stage again", self.path)
                self.records = {}
        self.started = time.monotonic()

    def _save(self) -> None:
        atomic_write_text(self.path, json.dumps([asdict(r) for r in self.records.values()], indent=2) + "\n")

    def run(self, name: str, fn: Callable[[], tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        rec = self.records.get(name)
        if rec is not None and rec.status == "done":
            log.info("[%d/%d] %s: done in an earlier run, reused", self.names.index(name) + 1, len(self.names), name)
            return rec.result
        index = self.names.index(name) + 1
        log.info("[%d/%d] %s ... (%.0f s elapsed)", index, len(self.names), name, time.monotonic() - self.started)
        t0 = time.monotonic()
        try:
            detail, result = fn()
        except BaseException:
            self.records[name] = StageRecord(name, "failed", round(time.monotonic() - t0, 1), "interrupted or failed")
            self._save()
            raise
        self.records[name] = StageRecord(name, "done", round(time.monotonic() - t0, 1), detail, result)
        self._save()
        log.info("[%d/%d] %s: %s (%.1f s)", index, len(self.names), name, detail, self.records[name].seconds)
        return result

    def summary(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "status": r.status, "seconds": r.seconds, "detail": r.detail}
                for r in self.records.values()]
