"""Images into ``data:`` URIs, and the safety check for paths named in JSON files.

Every picture is decoded with Pillow and re-encoded, so a file that is not really an image is
reported instead of embedded, and very large pictures are shrunk. Photographs and image grids go in
as high-quality JPEG (quality 85 with no chroma subsampling, so edges and colours stay crisp) when that is
less than half the PNG's size, which keeps a demo report light enough to open on a phone; charts,
small pictures, pictures with transparency and anything asked for ``exact=True`` stay PNG, pixel
for pixel.
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
JPEG_QUALITY = 85  # with 4:4:4 chroma: a 12 MB demo report becomes about 3.7 MB
LOSSLESS_BELOW = 96 * 1024  # bytes of PNG: smaller pictures stay exact


def _encode(picture: Image.Image, *, exact: bool) -> str:
    """The smaller of PNG and high-quality JPEG as a data URI; PNG when exact, small or transparent."""
    buf = io.BytesIO()
    picture.save(buf, format="PNG", optimize=False)
    png = buf.getvalue()
    if exact or picture.mode != "RGB" or len(png) < LOSSLESS_BELOW:
        return png_uri(png)
    buf = io.BytesIO()
    picture.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    jpeg = buf.getvalue()
    if 2 * len(jpeg) > len(png):  # flat graphics: PNG is already small, keep the exact pixels
        return png_uri(png)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


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


def image_uri(path: Path, *, max_side: int = MAX_SIDE, exact: bool = False) -> Embedded | None:
    """The picture at ``path`` as a data URI (see the module doc), or ``None`` (with a warning) when it cannot be read."""
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
    return Embedded(_encode(picture, exact=exact), picture.width, picture.height)


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
