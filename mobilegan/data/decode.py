"""Decode any image file a user may have into an 8-bit RGB ``PIL.Image``.

Handles EXIF orientation, transparency (composited on white), grayscale, palette, 16-bit,
CMYK and other modes. Every failure (unknown format, truncated or corrupt data, an image
over Pillow's decompression-bomb limit) becomes one :class:`ImageDecodeError` naming the file.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mobilegan.errors import DataError

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
BACKGROUND = (255, 255, 255)  # transparent pixels become white

_DECODE_ERRORS = (
    OSError,  # truncated data ("image file is truncated"), I/O errors
    ValueError,
    SyntaxError,  # Pillow raises it for some broken headers
    EOFError,
    struct.error,
    zlib.error,
    MemoryError,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


class ImageDecodeError(DataError):
    """One file that cannot be used as an image."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def is_image_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted, hidden files and folders skipped).

    Raises :class:`DataError` if ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if not f.startswith(".") and is_image_file(f))
    return sorted(found)


def _to_uint8(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer and float single-channel images -> 8-bit ``L``."""
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return Image.fromarray(arr, mode="L")
    if np.issubdtype(arr.dtype, np.floating):
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        # Floats in [0, 1] are normalised images; anything else is stretched to its range.
        scale = 255.0 if 0.0 <= lo and hi <= 1.0 else 255.0 / max(hi - lo, 1e-12)
        offset = 0.0 if 0.0 <= lo and hi <= 1.0 else lo
        out = np.nan_to_num((arr - offset) * scale).clip(0, 255).round()
    else:
        arr = arr.astype(np.int64)
        # 16-bit data (any value above 255, or a 16-bit mode) keeps its top byte.
        out = arr >> 8 if img.mode.startswith("I;16") or int(arr.max(initial=0)) > 255 else arr
        out = out.clip(0, 255)
    return Image.fromarray(out.astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow image -> ``RGB``: alpha composited on white, other modes converted."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        img = _to_uint8(img)
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (img.mode in ("L", "RGB") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return img


def load_image_rgb(path: str | os.PathLike[str], *, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` fully into an upright 8-bit RGB image.

    ``draft_size`` lets JPEG decoding scale down by a power of two while keeping both sides
    >= ``draft_size`` (much faster for big photos; the whole stream is still decoded, so
    truncation is still detected). Raises :class:`ImageDecodeError` for any unusable file.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if draft_size is not None and img.format == "JPEG":
                    img.draft("RGB", (draft_size, draft_size))
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb = to_rgb(img)
                rgb.load()
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(path, f"too many pixels, refused as a possible decompression bomb ({exc})") from None
    except FileNotFoundError:
        raise ImageDecodeError(path, "no such file") from None
    except UnidentifiedImageError:
        raise ImageDecodeError(path, "not an image Pillow can read (unknown or corrupt format)") from None
    except _DECODE_ERRORS as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImageDecodeError(path, f"corrupt or truncated image ({msg[:160]})") from None
    if rgb.width < 1 or rgb.height < 1:
        raise ImageDecodeError(path, "image has no pixels")
    return rgb

