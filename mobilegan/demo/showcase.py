"""One whole photo at its own resolution through ``mobilegan translate``: what a user's photo looks like.

The held-out grid shows 256 px blocks; this shows a full photo (not a multiple of the exported
models' fixed 256 px input) run exactly as ``mobilegan translate photo.png --model ...`` runs it,
with the teacher checkpoint and with the student's ExecuTorch ``.pte`` (tiled at the export
size). Part of this photo was dealt to the training sets: the picture is a showcase, the
held-out scores are the measurement.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from mobilegan.data.decode import load_image_rgb
from mobilegan.data.transforms import to_tensor
from mobilegan.demo.photos import photo_path, style_function
from mobilegan.demo.style import to_uint8
from mobilegan.inference.exported import CardFacts
from mobilegan.inference.translate import TranslateConfig, translate_files
from mobilegan.metrics import psnr
from mobilegan.train.samples import save_image_grid

log = logging.getLogger(__name__)

SHOWCASE_PHOTO = "motorcycle_left.png"  # 741 x 500: neither side a multiple of the 256 px export size


def _save_png(array: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")
    return path


def _pte_tiling(facts: CardFacts | None, size: int) -> str:
    """How ``translate`` runs a fixed-size .pte on the larger photo (ExportedRunner's choice)."""
    if facts is not None and facts.whole:
        return (f"the whole photo resized to its fixed {size} px input and back: the program reads its input as a "
                "whole, so tiles would each get their own statistics (hence the blur)")
    own = ", each with its own image-wide context" if facts is not None and facts.own_context else ""
    return f"its fixed {size} px input: overlapping {size} px tiles, blended{own}"


def build_showcase(out_dir: Path, *, teacher: Path, student_pte: Path | None, export_size: int,
                   photo: str = SHOWCASE_PHOTO, style: str = "grade", student: Path | None = None,
                   pte_facts: CardFacts | None = None) -> dict[str, Any]:
    """Write ``out_dir/showcase/`` (input, truth, outputs) and ``showcase.png`` (2 x 2); returns its record.
    ``pte_facts``: what the export's model card says about the student (how translate runs its .pte)."""
    folder = out_dir / "showcase"
    with Image.open(photo_path(photo)) as im:
        rgb = np.asarray(im.convert("RGB"))
    inputs = _save_png(rgb, folder / "input.png")
    truth = _save_png(to_uint8(style_function(style)(rgb)), folder / "truth.png")
    tcfg = TranslateConfig()  # exactly what `mobilegan translate` does by default
    models: dict[str, Path] = {"teacher (checkpoint)": teacher}
    if student is not None:  # a whole-image student: its checkpoint tiles with the whole photo's context
        models["student (checkpoint)"] = student
    if student_pte is not None and student_pte.is_file():
        models[f"student ({student_pte.name})"] = student_pte
    outputs: dict[str, Path] = {}
    for i, (name, model) in enumerate(models.items()):
        result = translate_files([str(inputs)], model, folder / f"out{i}", tcfg)
        outputs[name] = result.written[0]
    truth_t = to_tensor(load_image_rgb(truth)).unsqueeze(0)
    scores = {name: round(float(psnr(to_tensor(load_image_rgb(p)).unsqueeze(0), truth_t).mean()), 2)
              for name, p in outputs.items()}
    tiles = [to_tensor(load_image_rgb(p)) for p in (inputs, truth, *outputs.values())]
    rows = [tiles[i : i + 2] for i in range(0, len(tiles), 2)]
    if len(rows[-1]) == 1:
        rows[-1].append(torch.ones_like(rows[-1][0]))  # white filler keeps the grid rectangular
    save_image_grid(rows, out_dir / "showcase.png")
    h, w = rgb.shape[:2]
    log.info("showcase: %s (%dx%d) through %s", photo, w, h, ", ".join(models))
    return {
        "file": "showcase.png",
        "photo": photo,
        "width": w,
        "height": h,
        "columns": ["input", "ground truth", *models],
        "psnr_db_vs_truth": scores,
        "tiling": {"checkpoint": f"tiles of {tcfg.tile.tile} px (the translate default) when larger"
                                 + (", each with the whole photo's context (read at its own resolution)"
                                    if student is not None else ""),
                   "pte": _pte_tiling(pte_facts, export_size),
                   "overlap": (tcfg.tile.overlap if tcfg.tile.overlap is not None
                               else "from each model's receptive field")},
        "command": f"mobilegan translate {photo} --model <teacher .pt or student .pte> --out <folder>",
    }
