"""Benchmark results (JSON files with ``"schema": "mobilegan.bench/1"``): a latency chart and table.

Rows marked ``"example": true`` (the apps' format samples) are drawn hatched and grey and
labelled EXAMPLE everywhere, so nobody mistakes them for measurements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mobilegan.report.charts import latency_png
from mobilegan.report.common import RenderContext, Rendered, as_dict, as_list, embed_picture, read_json
from mobilegan.report.embed import png_uri
from mobilegan.report.markup import Raw, badge, figure, fmt, heading, key_values, note, section, table

MAX_CHART_ROWS = 40


def is_example(row: Any, doc: dict[str, Any]) -> bool:
    return bool(row.extra.get("example")) or doc.get("example") is True


def _where(row: Any, example: bool) -> Raw:
    place = fmt(row.device) if row.source == "device" else "host"
    return Raw((f"{badge('EXAMPLE', 'example')} not a measurement, " if example else "") + fmt(place))


def _label(row: Any) -> str:
    where = f" [{row.device}]" if row.source == "device" and row.device else ""
    return f"{row.model} | {row.runtime} {row.precision} t{row.threads}{where}"


def _table(rows: list[Any], examples: list[bool]) -> Raw:
    headers = ["model", "runtime", "precision", "threads", "size", "median ms", "p10 ms", "p90 ms", "runs",
               "file KB", "GFLOP/s", "speed-up vs teacher", "where"]
    body = [[r.model, r.runtime, r.precision, r.threads, r.size, f"{r.median_ms:.2f}", f"{r.p10_ms:.2f}",
             f"{r.p90_ms:.2f}", r.runs, f"{r.bytes / 1024:,.0f}" if r.bytes else None, r.gflops,
             f"{r.speedup_vs_teacher:.1f}x" if r.speedup_vs_teacher else None, _where(r, ex)]
            for r, ex in zip(rows, examples)]
    return table(headers, body, numeric=range(3, 12), row_classes=["example" if ex else "" for ex in examples])


def _chart(rows: list[Any], examples: list[bool], machine: dict[str, Any]) -> Raw:
    shown = list(zip(rows, examples))[:MAX_CHART_ROWS]
    kinds = ["example" if ex else ("device" if r.source == "device" else "host") for r, ex in shown]
    png = latency_png([_label(r) for r, _ in shown], [r.median_ms for r, _ in shown], [r.p10_ms for r, _ in shown],
                      [r.p90_ms for r, _ in shown], kinds)
    cut = f" (first {MAX_CHART_ROWS} of {len(rows)} rows)" if len(rows) > MAX_CHART_ROWS else ""
    where = f" on {machine['device']}" if machine.get("device") else ""
    return figure(png_uri(png), f"median latency per model and runtime{where}{cut}", wide=True)


def _estimates(doc: dict[str, Any]) -> list[str]:
    est = [as_dict(e) for e in as_list(doc.get("roofline_estimates"))]
    if not est:
        return []
    rows = [[e.get("phone"), e.get("engine"), e.get("peak_gflops"), e.get("bound_ms"), e.get("at_30pct_ms"),
             e.get("formula")] for e in est]
    return [heading(3, "Phone ESTIMATES from peak compute (not measurements)"),
            table(["phone", "engine", "peak GFLOP/s", ">= ms at peak", "~ms at 30% of peak", "formula"], rows,
                  numeric=(2, 3, 4))]


def _machine(machine: dict[str, Any]) -> Raw:
    pairs = [(k, v) for k, v in machine.items() if not isinstance(v, dict)]
    pairs += [(k, fmt(v)) for k, v in machine.items() if isinstance(v, dict)]
    return key_values(pairs)


def _pictures(folder: Path, ctx: RenderContext, skip_stems: set[str]) -> list[str]:
    """``bench*.png`` in ``folder``, except those named like a results file (the same rows, redrawn above)."""
    out: list[str] = []
    for png in sorted(folder.glob("bench*.png")):
        if png.stem in skip_stems:
            continue
        out.append(embed_picture(png.name, png.parent, ctx, png.stem.replace("_", " ")))
    return out


def render(paths: tuple[Path, ...], ctx: RenderContext) -> list[Rendered]:
    from mobilegan.bench.results import import_results
    from mobilegan.errors import MobileganError

    out, pictures_done = [], set()
    for path in paths:
        anchor = ctx.anchor("bench", path)
        doc, _ = read_json(path)
        doc = as_dict(doc)
        try:
            machine, rows = import_results(path)
        except MobileganError as exc:
            parts: list[str] = [note(str(exc), "bad")]
        else:
            examples = [is_example(r, doc) for r in rows]
            parts = [_chart(rows, examples, machine), _table(rows, examples)]
            if any(examples):
                parts.append(note(f"{sum(examples)} row(s) marked EXAMPLE show the file format only; "
                                  "they were not measured.", "warn"))
            if doc.get("note"):
                parts.append(note(str(doc["note"]), "warn" if any(examples) else "muted"))
            parts += _estimates(doc)
            parts += [heading(3, "Machine"), _machine(machine)]
        if path.parent not in pictures_done:
            pictures_done.add(path.parent)
            parts += _pictures(path.parent, ctx, {p.stem for p in paths if p.parent == path.parent})
        title = "Benchmark" + (" (EXAMPLE data)" if doc.get("rows") and all(
            as_dict(r).get("example") for r in as_list(doc.get("rows"))) else "")
        out.append(Rendered(anchor, "bench", section(anchor, title, parts, subtitle=ctx.rel(path))))
    return out
