"""What every section renderer shares: the render context, its output type, JSON reading, labels."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobilegan.report.embed import image_uri, resolve_named
from mobilegan.report.markup import Raw, figure, note


@dataclass(frozen=True)
class RenderContext:
    root: Path  # the run folder the report describes

    def rel(self, path: Path) -> str:
        """``path`` relative to the run folder (``.`` for the folder itself)."""
        try:
            text = str(path.relative_to(self.root))
        except ValueError:
            text = str(path)
        return text if text and text != "." else (self.root.resolve().name or str(self.root))

    def anchor(self, kind: str, path: Path) -> str:
        """A stable, unique id: the kind plus the path inside the run folder (``root`` for the folder itself)."""
        try:
            inner = path.relative_to(self.root).as_posix()
        except ValueError:
            inner = path.as_posix()
        return kind + "-" + (re.sub(r"[^A-Za-z0-9]+", "-", inner).strip("-").lower() or "root")


@dataclass(frozen=True)
class Rendered:
    anchor: str
    label: str  # for the contents line at the top
    html: Raw


def read_json(path: Path) -> tuple[Any, str | None]:
    """(document, None) or (None, a one-line reason it could not be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name}: not readable JSON ({exc})"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def humanize(key: str) -> str:
    """``student_vs_truth`` -> ``student vs truth``; ``psnr_db`` -> ``PSNR dB``."""
    words = {"psnr": "PSNR", "ssim": "SSIM", "db": "dB", "fid": "FID", "kid": "KID", "macs": "MACs", "ms": "ms"}
    return " ".join(words.get(w.lower(), w) for w in re.split(r"[_\s]+", str(key)) if w)


def embed_picture(name: Any, base: Path, ctx: RenderContext, caption: str, *, wide: bool = False,
                  columns: Sequence[str] = ()) -> Raw:
    """A figure for an image named in a JSON file (kept inside the run folder), or a note why not.

    Grids (``columns`` given) are shown at a fixed width so the column labels line up.
    """
    path = resolve_named(name, base, ctx.root)
    if path is None:
        return note(f"{caption}: image {name!s} not found inside the run folder", "warn")
    picture = image_uri(path)
    if picture is None:
        return note(f"{caption}: {ctx.rel(path)} is not a readable image", "warn")
    width = picture.display_width() if columns or not wide else None
    if width is not None and columns:  # room for the labels
        width = min(1120, max(width, 96 * len(columns)))
    return figure(picture.uri, f"{caption} ({ctx.rel(path)})", wide=wide and width is None, width=width,
                  columns=columns)
