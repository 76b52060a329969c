"""Benchmark rows, the versioned JSON file (``mobilegan.bench/1``), import and the text table.

The schema is shared with the sample apps' benchmark mode: ``apps/bench-result.schema.json``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_write_text

SCHEMA = "mobilegan.bench/1"
_REQUIRED_ROW = ("model", "runtime", "precision", "threads", "size", "median_ms", "p10_ms", "p90_ms", "runs", "source")


@dataclass
class Row:
    model: str
    runtime: str  # eager-pytorch, executorch-xnnpack, onnxruntime-cpu, ...
    precision: str  # fp32 | int8 | fp16
    threads: int
    size: int | list[int]
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    source: str = "host"  # host | device
    warmup: int = 0
    device: str = ""
    peak_rss_mb: float | None = None  # process high-water mark
    inference_mb: float | None = None  # memory one inference added on top of the loaded model
    bytes: int | None = None
    params: int | None = None
    macs: int | None = None
    macs_compat: int | None = None
    gflops: float | None = None  # achieved: 2 x MACs / latency
    peak_share: float | None = None  # achieved / theoretical peak at these threads
    speedup_vs_teacher: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return {k: v for k, v in d.items() if v is not None}


def fill_efficiency(row: Row, peak_gflops: float | None) -> None:
    if row.macs:
        row.gflops = round(2 * row.macs / (row.median_ms / 1000) / 1e9, 2)
        if peak_gflops:
            row.peak_share = round(row.gflops / peak_gflops, 4)


def write_results(path: str | os.PathLike[str], machine: dict[str, Any], rows: list[Row], extra: dict[str, Any] | None = None) -> Path:
    doc = {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "rows": [r.to_dict() for r in rows],
        **(extra or {}),
    }
    return atomic_write_text(path, json.dumps(doc, indent=2) + "\n")


def import_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[Row]]:
    """Read a results file (ours or a sample app's); rows are tagged with the machine's device."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise MobileganError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MobileganError(f"{p}: not a JSON benchmark file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise MobileganError(f"{p}: not a {SCHEMA} file (schema={doc.get('schema') if isinstance(doc, dict) else None!r})")
    machine = doc.get("machine") or {}
    if not isinstance(machine, dict) or not machine.get("device"):
        raise MobileganError(f"{p}: machine.device is missing")
    rows = []
    known = set(Row.__dataclass_fields__) - {"extra"}
    for i, raw in enumerate(doc.get("rows") or []):
        missing = [k for k in _REQUIRED_ROW if k not in raw]
        if missing:
            raise MobileganError(f"{p}: row {i} lacks {', '.join(missing)}")
        base = {k: v for k, v in raw.items() if k in known}
        base.setdefault("device", machine["device"])
        rows.append(Row(**base, extra={k: v for k, v in raw.items() if k not in known}))
    if not rows:
        raise MobileganError(f"{p}: no rows")
    return machine, rows


def format_table(rows: list[Row]) -> str:
    header = ("model", "runtime", "prec", "thr", "median ms", "p10", "p90", "+MB/run", "size KB", "GFLOP/s", "% peak", "speed-up", "where")
    lines = [header]
    for r in rows:
        lines.append((
            r.model, r.runtime, r.precision, str(r.threads), f"{r.median_ms:.2f}", f"{r.p10_ms:.2f}", f"{r.p90_ms:.2f}",
            f"{r.inference_mb:.0f}" if r.inference_mb is not None else "-",
            f"{r.bytes / 1024:.0f}" if r.bytes else "-",
            f"{r.gflops:.1f}" if r.gflops else "-",
            f"{100 * r.peak_share:.1f}" if r.peak_share else "-",
            f"{r.speedup_vs_teacher:.1f}x" if r.speedup_vs_teacher else "-",
            ("EXAMPLE " if r.extra.get("example") else "") + (r.device if r.source == "device" else "host"),
        ))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = []
    for i, row in enumerate(lines):
        out.append("  ".join(c.rjust(widths[j]) if 3 <= j <= 11 else c.ljust(widths[j]) for j, c in enumerate(row)))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
