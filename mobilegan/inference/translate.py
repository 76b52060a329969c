"""``mobilegan translate``: run a model over image files of any size.

Inputs are files, folders (recursive) or glob patterns. Each image is decoded with EXIF
orientation applied, translated at its own size (padded to a multiple of 4 and cropped back;
tiled when larger than a tile), and written to ``out_dir`` under the same name. Outputs keep
the input's format unless ``fmt`` says otherwise; an input is never overwritten, an earlier
output only with ``overwrite`` (the CLI's ``--overwrite``); unreadable files are skipped with a
warning and counted.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from mobilegan.utils.progress import progress_bar

from mobilegan.data.decode import ImageDecodeError, is_image_file, list_images, load_image_rgb
from mobilegan.data.transforms import to_image, to_tensor
from mobilegan.errors import DataError, MobileganError
from mobilegan.inference.runners import Runner, open_runner
from mobilegan.inference.tiling import TileConfig
from mobilegan.utils.atomic import atomic_path

log = logging.getLogger(__name__)

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF"}


@dataclass(frozen=True)
class TranslateConfig:
    tile: TileConfig = field(default_factory=TileConfig)
    size: int | None = None  # resize the short side to this before translating
    keep_size: bool = True  # output at the (oriented) input size
    fmt: str | None = None  # output format; None = same as the input
    device: str = "cpu"
    overwrite: bool = True  # False: refuse (before any work) when an output file exists; the CLI's default


@dataclass
class TranslateResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: reason"


def collect_inputs(specs: list[str]) -> list[Path]:
    """Expand files, folders and globs into a sorted, de-duplicated list of image files."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found += list_images(path)
        elif path.is_file():
            found.append(path)
        elif any(ch in spec for ch in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(spec, recursive=True))]
            found += [m for m in matches if m.is_file() and is_image_file(m)]
            if not matches:
                raise DataError(f"{spec}: the pattern matches no files")
        else:
            raise DataError(f"{spec}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise DataError(f"no image files in {', '.join(specs)}")
    return unique


def _output_path(src: Path, out_dir: Path, fmt: str | None) -> tuple[Path, str]:
    ext = (fmt or src.suffix.lstrip(".")).lower()
    if ext not in FORMATS:
        ext = "png"
    dest = out_dir / f"{src.stem}.{ext}"
    return dest, FORMATS[ext]


def _translate_one(runner: Runner, img: Image.Image, cfg: TranslateConfig) -> Image.Image:
    size0 = img.size
    if cfg.size is not None:
        scale = cfg.size / min(img.size)
        img = img.resize((max(4, round(img.width * scale)), max(4, round(img.height * scale))), Image.Resampling.BICUBIC)
    x = to_tensor(img).unsqueeze(0)  # (1, 3, H, W) in [-1, 1]
    y = runner(x, cfg.tile)
    out = to_image(y[0])
    if cfg.keep_size and out.size != size0:
        out = out.resize(size0, Image.Resampling.BICUBIC)
    return out


def translate_files(inputs: list[str], model: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                    config: TranslateConfig = TranslateConfig()) -> TranslateResult:
    """Translate every image in ``inputs`` with ``model`` into ``out_dir``."""
    files = collect_inputs(inputs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise MobileganError(f"{out}: exists and is not a folder")
    if not config.overwrite:
        existing = [d for d in (_output_path(src, out, config.fmt)[0] for src in files) if d.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise MobileganError(f"{existing[0]} already exists{more}; pass --overwrite to replace, or choose another --out")
    runner = open_runner(model, device=config.device)  # before creating anything: a bad model leaves no folder
    out.mkdir(parents=True, exist_ok=True)
    result = TranslateResult()
    for src in progress_bar(files, desc="translate", unit="img"):
        dest, pil_format = _output_path(src, out, config.fmt)
        if dest.resolve() == src.resolve():
            result.skipped.append(f"{src}: output would overwrite the input; choose another --out")
            log.warning("skipping %s: output would overwrite the input", src)
            continue
        try:
            img = load_image_rgb(src)
        except ImageDecodeError as exc:
            result.skipped.append(str(exc))
            log.warning("skipping %s", exc)
            continue
        with torch.no_grad():
            styled = _translate_one(runner, img, config)
        with atomic_path(dest) as tmp:
            save_kw = {"quality": 95} if pil_format in ("JPEG", "WEBP") else {}
            styled.save(tmp, format=pil_format, **save_kw)
        result.written.append(dest)
    if result.skipped:
        log.warning("%d of %d file(s) skipped", len(result.skipped), len(files))
    return result
