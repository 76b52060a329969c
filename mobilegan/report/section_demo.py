"""The ``mobilegan demo`` summary (``demo.json``): image grid first, then scores, stages, commands, versions.

Written for the shape the demo writes and tolerant of anything missing: each part is drawn
only when its keys are there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mobilegan.report.common import (RenderContext, Rendered, as_dict, as_float, as_list, embed_picture, humanize,
                                     read_json)
from mobilegan.report.markup import Raw, badge, fmt, heading, key_values, note, pre, section, table

SCORE_FIRST = ("psnr_db", "ssim")
# Per-row copies of the identity baseline: shown once, as their own row and as the gain column.
SCORE_HIDDEN = frozenset({"identity_psnr_db", "identity_ssim", "gain_db"})
_VS_TRUTH = re.compile(r"vs[_ ]truth$")
STATUS_KIND = {"done": "ok", "ok": "ok", "passed": "ok", "skipped": "muted", "resumed": "muted", "cached": "muted",
               "failed": "bad", "error": "bad", "interrupted": "warn", "warning": "warn"}


def _grid(doc: dict[str, Any], path: Path, ctx: RenderContext) -> list[str]:
    grid = as_dict(doc.get("grid"))
    if not grid.get("file"):
        return []
    columns = [str(c) for c in as_list(grid.get("columns"))]
    out = [embed_picture(grid["file"], path.parent, ctx, "held-out 256 px blocks through every stage", columns=columns)]
    not_shown = [str(f) for f in as_list(grid.get("not_shown"))]
    if not_shown:
        out.append(note(f"Not in the grid (they run only on Apple devices): {', '.join(not_shown)}. Their parity "
                        "with PyTorch is in the export section."))
    for failure in as_list(grid.get("failed")):
        out.append(note(f"Not exported, so not in the grid: {failure}. `mobilegan export --target all` refuses "
                        "this student's int8 program the same way; the fp32 programs passed."))
    return out


def _showcase(doc: dict[str, Any], path: Path, ctx: RenderContext) -> list[str]:
    show = as_dict(doc.get("showcase"))
    if not show.get("file"):
        return []
    columns = [str(c) for c in as_list(show.get("columns"))]
    cells = " | ".join(columns)
    caption = (f"{show.get('photo')} at its own {show.get('width')}x{show.get('height')} px through "
               f"mobilegan translate, two per row: {cells}")
    scores = as_dict(show.get("psnr_db_vs_truth"))
    tiling = as_dict(show.get("tiling"))
    out = [heading(3, "A whole photo"), embed_picture(show["file"], path.parent, ctx, caption, wide=True)]
    facts = [(f"PSNR vs ground truth, {k}", f"{as_float(v):.2f} dB") for k, v in scores.items()
             if as_float(v) is not None]
    facts += [(f"tiling, {k}", v) for k, v in tiling.items()]
    if show.get("command"):
        facts.append(("command", show["command"]))
    out.append(key_values(facts))
    out.append(note("Part of this photo was dealt to the training sets: it shows what a whole photo looks like; "
                    "the held-out scores above are the measurement."))
    return out


def _scores(doc: dict[str, Any]) -> list[str]:
    scores = {k: as_dict(v) for k, v in as_dict(doc.get("scores")).items() if isinstance(v, dict)}
    if not scores:
        return []
    keys = [k for k in SCORE_FIRST if any(k in s for s in scores.values())]
    keys += sorted({k for s in scores.values() for k in s if k not in keys and k not in SCORE_HIDDEN})
    identity = as_float(as_dict(scores.get("identity_vs_truth")).get("psnr_db"))
    if identity is None:
        identity = next((as_float(s.get("identity_psnr_db")) for s in scores.values()
                         if as_float(s.get("identity_psnr_db")) is not None), None)
    headers = ["comparison", *(humanize(k) for k in keys)]
    rows = []
    for name, values in scores.items():
        row: list[Any] = [humanize(name), *(values.get(k) for k in keys)]
        rows.append(row)
    if identity is not None:
        headers.append("PSNR gain over doing nothing")
        for row, (name, values) in zip(rows, scores.items()):
            p = as_float(values.get("psnr_db"))
            gain = as_float(values.get("gain_db"))
            if gain is None and p is not None and _VS_TRUTH.search(name) and not name.startswith("identity"):
                gain = p - identity
            row.append(f"{gain:+.2f} dB" if gain is not None else None)
    out: list[str] = [heading(3, "Scores on held-out images"), table(headers, rows, numeric=range(1, len(headers)))]
    if identity is not None:
        out.append(note("identity = returning the input unchanged: the baseline a useful translation must beat."))
    return out


def _data(doc: dict[str, Any]) -> list[str]:
    data = as_dict(doc.get("data"))
    if not data:
        return []
    facts = [(humanize(k), data[k]) for k in ("source", "style") if k in data]
    facts += [(f"{humanize(k)} images", v) for k, v in as_dict(data.get("counts")).items()]
    out: list[str] = [heading(3, "Data"), key_values(facts)]
    photos = [as_dict(p) for p in as_list(data.get("photos"))]
    if photos:
        out.append(table(["photo", "credit"], [[p.get("file"), p.get("credit")] for p in photos]))
    return out


def flat_pairs(data: dict[str, Any], prefix: str = "", depth: int = 3) -> list[tuple[str, Any]]:
    """Scalars of a nested dict as ``(a / b, value)`` pairs; long lists and deeper levels are left out."""
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{humanize(key)}"
        if isinstance(value, dict):
            if depth > 1:
                pairs += flat_pairs(value, f"{name} / ", depth - 1)
        elif not isinstance(value, list) or len(value) <= 8:
            pairs.append((name, value))
    return pairs


def _teacher(doc: dict[str, Any]) -> list[str]:
    teacher = as_dict(doc.get("teacher"))
    if not teacher:
        return []
    return [heading(3, "Teacher"), key_values(flat_pairs(teacher))]


def _stages(doc: dict[str, Any]) -> list[str]:
    stages = [as_dict(s) for s in as_list(doc.get("stages"))]
    if not stages:
        return []
    rows, total = [], 0.0
    for s in stages:
        status = str(s.get("status", ""))
        seconds = as_float(s.get("seconds"))
        total += seconds or 0.0
        rows.append([s.get("name"), f"{seconds:.1f}" if seconds is not None else None,
                     badge(status, STATUS_KIND.get(status.lower(), "muted")) if status else None, s.get("detail")])
    rows.append([Raw("<b>total</b>"), f"{total:.1f}", None, None])
    return [heading(3, "Stages"), table(["stage", "seconds", "status", "detail"], rows, numeric=(1,))]


def _environment(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    commands = [str(c) for c in as_list(doc.get("commands"))]
    if commands:
        out += [heading(3, "Exact commands"), pre(commands)]
    versions = as_dict(doc.get("versions"))
    machine = as_dict(doc.get("machine"))
    if versions or machine:
        out.append(heading(3, "Versions and machine"))
        blocks = []
        if versions:
            blocks.append(table(["package", "version"], sorted(versions.items())))
        if machine:
            blocks.append(key_values((humanize(k), fmt(v)) for k, v in machine.items()))
        out.append(Raw('<div class="row">' + "".join(f"<div>{b}</div>" for b in blocks) + "</div>"))
    return out


def render(paths: tuple[Path, ...], ctx: RenderContext) -> list[Rendered]:
    out = []
    for path in paths:
        doc, error = read_json(path)
        anchor = ctx.anchor("demo", path)
        if error is not None or not isinstance(doc, dict):
            parts: list[str] = [note(error or f"{path.name}: not a JSON object", "bad")]
        else:
            parts = [*_grid(doc, path, ctx), *_scores(doc), *_showcase(doc, path, ctx), *_teacher(doc), *_data(doc), *_stages(doc),
                     *_environment(doc)]
            if not parts:
                parts = [note("demo.json holds none of the known parts (grid, scores, data, stages, commands)", "warn")]
        out.append(Rendered(anchor, "demo", section(anchor, "Demo", parts, subtitle=ctx.rel(path))))
    return out
