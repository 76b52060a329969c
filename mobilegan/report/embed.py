"""Images into ``data:image/png;base64`` URIs, and the safety check for paths named in JSON files.

Every picture is decoded with Pillow and re-encoded as PNG, so a file that is not really an
image is reported instead of embedded, and very large pictures are shrunk to keep the report
light enough to open on a phone.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_SIDE = 2400  # pixels; larger pictures are downscaled (aspect kept)
MAX_FILE_BYTES = 64 * 1024 * 1024


def png_uri(data: bytes) -> str:
    """A data URI for bytes that already are a PNG."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Embedded:
    uri: str
    width: int
    height: int

    def display_width(self, target: int = 720, limit: int = 1120) -> int:
        """Small grids are shown up to 3x larger (about ``target`` px wide), never over ``limit``."""
        scale = max(1, min(3, target // max(1, self.width)))
        return min(limit, self.width * scale)


def image_uri(path: Path, *, max_side: int = MAX_SIDE) -> Embedded | None:
    """The picture at ``path`` as a PNG data URI, or ``None`` (with a warning) when it cannot be read."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            log.warning("report: %s is over %d MB, not embedded", path, MAX_FILE_BYTES // 2**20)
            return None
        with Image.open(path) as im:
            im.load()
            picture = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("report: cannot read image %s (%s)", path, exc)
        return None
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.save(buf, format="PNG", optimize=False)
    return Embedded(png_uri(buf.getvalue()), picture.width, picture.height)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (after resolving links and ``..``) lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def resolve_named(name: object, base: Path, root: Path) -> Path | None:
    """A file named inside a JSON document (relative to ``base``), only if it exists inside ``root``."""
    if not isinstance(name, str) or not name:
        return None
    candidate = Path(name)
    for path in ([candidate] if candidate.is_absolute() else [base / candidate, candidate]):
        if path.is_file() and inside(path, root):
            return path
    return None
