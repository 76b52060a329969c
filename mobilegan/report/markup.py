"""HTML building blocks for the report: escaping, tables, figures, sections and the page shell.

Everything that reaches the page goes through :func:`esc` (or is built here from escaped
parts), so file names, model names and notes from JSON files can never inject markup. The
page is self-contained: inline CSS, images as ``data:`` URIs, no scripts, no external URLs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

Cell = Any  # a value rendered by fmt(), or a Raw fragment


class Raw(str):
    """A fragment that is already safe HTML (built by this module); not escaped again."""


def esc(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 3) -> str:
    """A short human rendering of a JSON value: floats to ``digits`` decimals (or significant digits when
    very large or small), ``-`` for none."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits}g}"
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    if isinstance(value, (list, tuple)):
        return " x ".join(fmt(v, digits) for v in value) if all(isinstance(v, (int, float)) for v in value) \
            else ", ".join(fmt(v, digits) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items()) or "-"
    return str(value)


def cell(value: Cell) -> str:
    return value if isinstance(value, Raw) else esc(fmt(value))


def badge(text: str, kind: str) -> Raw:
    """A small coloured label; ``kind`` is one of ok, bad, warn, example, muted."""
    return Raw(f'<span class="badge {esc(kind)}">{esc(text)}</span>')


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, numeric: Sequence[int] = (),
          row_classes: Sequence[str] | None = None, caption: str | None = None) -> Raw:
    """A table; columns whose index is in ``numeric`` are right-aligned."""
    num = set(numeric)
    def align(i: int) -> str:
        return ' class="num"' if i in num else ""

    head = "".join(f"<th{align(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = row_classes[r] if row_classes and r < len(row_classes) and row_classes[r] else ""
        tds = "".join(f"<td{align(i)}>{cell(v)}</td>" for i, v in enumerate(row))
        tr_class = f' class="{esc(cls)}"' if cls else ""
        body.append(f"<tr{tr_class}>{tds}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return Raw(f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
               f'<tbody>{"".join(body)}</tbody></table></div>')


def key_values(pairs: Iterable[tuple[str, Cell]]) -> Raw:
    """A two-column definition table for small facts."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{cell(v)}</td></tr>" for k, v in pairs)
    return Raw(f'<table class="kv"><tbody>{rows}</tbody></table>')


def figure(src: str, caption: str, *, alt: str | None = None, wide: bool = False, width: int | None = None,
           columns: Sequence[str] = ()) -> Raw:
    """An image from a ``data:`` URI (never an external URL) with its caption.

    ``width`` fixes the displayed width (px, shrinking on narrow screens); ``columns`` labels
    equal-width columns of a grid image above it.
    """
    if not src.startswith("data:image/"):
        raise ValueError("report images must be embedded data URIs")
    cls = ' class="wide"' if wide else ""
    style = f' style="width:{int(width)}px"' if width else ""
    labels = "".join(f"<div>{esc(c)}</div>" for c in columns)
    head = f'<div class="cols">{labels}</div>' if columns else ""
    return Raw(f'<figure{cls}{style}>{head}<img src="{esc(src)}" alt="{esc(alt or caption)}">'
               f"<figcaption>{esc(caption)}</figcaption></figure>")


def note(text: str, kind: str = "muted") -> Raw:
    return Raw(f'<p class="note {esc(kind)}">{esc(text)}</p>')


def pre(lines: Iterable[str]) -> Raw:
    return Raw(f"<pre>{esc(chr(10).join(lines))}</pre>")


def heading(level: int, text: str) -> Raw:
    return Raw(f"<h{level}>{esc(text)}</h{level}>")


def section(anchor: str, title: str, parts: Iterable[str], *, subtitle: str | None = None) -> Raw:
    sub = f'<p class="where">{esc(subtitle)}</p>' if subtitle else ""
    body = "\n".join(p if isinstance(p, Raw) else esc(p) for p in parts)
    return Raw(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{sub}\n{body}\n</section>')


CSS = """
:root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --accent:#2f6fde; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color:var(--fg); background:var(--bg); }
header, main, footer { max-width:1180px; margin:0 auto; padding:0 24px; }
header { padding-top:28px; }
header h1 { margin:0 0 6px; font-size:26px; }
.meta { color:var(--muted); font-size:13px; }
.meta span { margin-right:18px; }
nav { margin:14px 0 4px; font-size:14px; }
nav a { color:var(--accent); text-decoration:none; margin-right:14px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px; margin:18px 0; }
h2 { margin:0 0 4px; font-size:20px; }
h3 { margin:18px 0 6px; font-size:16px; }
.where { margin:0 0 12px; color:var(--muted); font-size:13px; font-family:ui-monospace, Menlo, Consolas, monospace; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; margin:8px 0 12px; font-size:13.5px; }
caption { text-align:left; color:var(--muted); padding-bottom:4px; }
th, td { border-bottom:1px solid var(--line); padding:5px 10px; text-align:left; vertical-align:top; }
thead th { background:#f1f3f6; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
table.kv th { background:none; font-weight:600; color:var(--muted); white-space:nowrap; }
tr.example td { background:#fff8e6; }
figure { margin:10px 0 16px; max-width:100%; }
figure[style] img { width:100%; }
figure[style] figcaption { width:max-content; max-width:90vw; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:6px; image-rendering:auto; }
figure.wide img { width:100%; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; }
.cols { display:flex; gap:0; margin-bottom:2px; }
.cols div { flex:1; text-align:center; font-weight:600; font-size:13px; }
.row { display:flex; flex-wrap:wrap; gap:18px; align-items:flex-start; }
.row > * { flex:1 1 420px; }
pre { background:#0f1623; color:#e6edf3; padding:12px 14px; border-radius:8px; overflow-x:auto; font-size:13px; }
.badge { display:inline-block; white-space:nowrap; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
.badge.ok { background:#dcfae6; color:#067647; }
.badge.bad { background:#fee4e2; color:#b42318; }
.badge.warn { background:#fef0c7; color:#93370d; }
.badge.example { background:#fdb022; color:#fff; }
.badge.muted { background:#f2f4f7; color:var(--muted); }
.note { font-size:13.5px; }
.note.muted { color:var(--muted); }
.note.warn { color:#93370d; }
.note.bad { color:#b42318; }
footer { color:var(--muted); font-size:13px; padding-bottom:40px; }
footer li { margin:3px 0; }
"""


def page(*, title: str, meta: Sequence[tuple[str, str]], toc: Sequence[tuple[str, str]], sections: Sequence[str],
         footer: Sequence[str]) -> str:
    """The whole document: header (title, facts, contents), the sections, the footer notes."""
    facts = "".join(f"<span><b>{esc(k)}:</b> {esc(v)}</span>" for k, v in meta)
    nav = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in toc)
    foot = "".join(f"<li>{esc(line)}</li>" for line in footer)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><div class=\"meta\">{facts}</div><nav>{nav}</nav></header>\n"
        f"<main>\n{chr(10).join(sections)}\n</main>\n"
        f"<footer><h3>How these numbers were measured</h3><ul>{foot}</ul></footer>\n</body>\n</html>\n"
    )
