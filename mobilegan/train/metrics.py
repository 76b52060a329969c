"""Metrics as JSON lines (``metrics.jsonl``), plus TensorBoard events when tensorboard is installed.

The file is rewritten atomically on :meth:`MetricsLog.flush` (the loop flushes with every
checkpoint and at most every ``flush_interval_s`` seconds), so it is never half-written. On
resume, records after the resumed step are dropped: the file then matches the state exactly.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from mobilegan.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


def tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of a metrics file (unparseable lines are skipped)."""
    records: list[dict[str, Any]] = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return records
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


class MetricsLog:
    """Collects ``{"step": ..., name: value}`` records; only the main rank should create one enabled."""

    def __init__(self, path: str | os.PathLike[str], *, resume_step: int | None = None, enabled: bool = True,
                 tensorboard_dir: str | os.PathLike[str] | None = None, flush_interval_s: float = 30.0) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.flush_interval_s = flush_interval_s
        self._lines: list[str] = []
        self._last_flush = time.monotonic()
        self._tb: Any = None
        if not enabled:
            return
        if resume_step is not None:
            kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= resume_step]
            self._lines = [json.dumps(r) for r in kept]
        self.flush()
        if tensorboard_dir is not None and tensorboard_available():
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(tensorboard_dir), purge_step=resume_step)

    def log(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        record: dict[str, Any] = {"step": step}
        record.update({k: (v if math.isfinite(v) else None) for k, v in values.items()})
        self._lines.append(json.dumps(record))
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, v, step)
        if time.monotonic() - self._last_flush > self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        if not self.enabled:
            return
        atomic_write_text(self.path, "".join(line + "\n" for line in self._lines))
        self._last_flush = time.monotonic()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self.flush()
        if self._tb is not None:
            self._tb.close()
            self._tb = None
