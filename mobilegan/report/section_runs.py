"""Training and distillation runs (``metrics.jsonl`` + ``samples/``) and evaluations (``eval.json`` + grid)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mobilegan.report.charts import loss_curves_png, series
from mobilegan.report.common import (RenderContext, Rendered, as_dict, as_float, embed_picture, humanize, read_json)
from mobilegan.report.embed import png_uri
from mobilegan.report.markup import Raw, figure, heading, key_values, note, section, table

# Files that tell what kind of run wrote a metrics log (first match wins).
RUN_KINDS: tuple[tuple[str, str], ...] = (("student.pt", "Distillation run"), ("G_AB.pt", "CycleGAN training run"),
                                          ("G_BA.pt", "CycleGAN training run"))
_STEP = re.compile(r"(\d+)")


def _read_records(path: Path) -> list[dict[str, Any]]:
    from mobilegan.train.metrics import read_metrics

    return read_metrics(path)


def newest_sample(folder: Path) -> Path | None:
    """The sample grid of the latest step (``step_000120.png`` > ``step_000080.png``), else the newest file."""
    samples = [p for p in folder.glob("*.png") if p.is_file() and not p.name.startswith(".")] if folder.is_dir() else []
    if not samples:
        return None

    def key(p: Path) -> tuple[int, float]:
        digits = _STEP.findall(p.stem)
        return (int(digits[-1]) if digits else -1, p.stat().st_mtime)

    return max(samples, key=key)


def _sample_caption(sample: Path) -> str:
    digits = _STEP.findall(sample.stem)
    return f"samples after step {int(digits[-1]):,}" if digits else "samples"


def _run_title(folder: Path) -> str:
    return next((title for name, title in RUN_KINDS if (folder / name).is_file()), "Training run")


def _summary(records: list[dict[str, Any]]) -> Raw:
    steps, values = series(records)
    rows = []
    for name, ys in values.items():
        finite = [y for y in ys if y == y]
        rows.append([name, finite[-1] if finite else None, min(finite) if finite else None,
                     max(finite) if finite else None])
    caption = f"{len(records)} logged steps, last step {int(steps[-1]) if steps else 0}"
    return table(["metric", "last", "min", "max"], rows, numeric=(1, 2, 3), caption=caption)


def render_training(paths: tuple[Path, ...], ctx: RenderContext) -> list[Rendered]:
    out = []
    for path in paths:
        folder = path.parent
        title = _run_title(folder)
        anchor = ctx.anchor("run", folder)
        records = _read_records(path)
        parts: list[str] = []
        if not records:
            parts.append(note(f"{path.name} holds no readable records yet", "warn"))
        else:
            png = loss_curves_png(records, f"{title.lower()}: {ctx.rel(folder)}")
            chart = figure(png_uri(png), "losses per logged step", wide=True) if png else note("no numeric metrics")
            parts += [chart, _summary(records)]
        sample = newest_sample(folder / "samples")
        if sample is not None:
            parts += [heading(3, "Newest samples"),
                      embed_picture(sample.name, sample.parent, ctx, _sample_caption(sample))]
        out.append(Rendered(anchor, title.split()[0].lower(), section(anchor, title, parts, subtitle=ctx.rel(folder))))
    return out


def _counts_table(doc: dict[str, Any]) -> Raw | None:
    teacher, student, ratios = as_dict(doc.get("teacher")), as_dict(doc.get("student")), as_dict(doc.get("ratios"))
    keys = [k for k in ("params", "macs", "macs_compat") if k in teacher or k in student]
    if not keys:
        return None
    labels = {"params": "parameters", "macs": "MACs (real)", "macs_compat": "MACs (papers' convention)"}
    rows = []
    for k in keys:
        ratio = as_float(ratios.get(k))
        rows.append([labels[k], teacher.get(k), student.get(k), f"{ratio:.1f}x" if ratio is not None else None])
    return table(["", "teacher", "student", "teacher / student"], rows, numeric=(1, 2, 3))


def _fid_parts(fid: dict[str, Any]) -> list[str]:
    if not fid:
        return []
    if "skipped" in fid:
        return [note(f"FID/KID skipped: {fid['skipped']}")]
    # KID lives around 1e-3..1e-1: 4 decimals, not 3
    rows = [[name, num_text(v.get("fid"), 2), num_text(v.get("kid"), 4), num_text(v.get("kid_se", v.get("kid_std")), 4)]
            for name, v in fid.items() if isinstance(v, dict)]
    caption = f"against {fid.get('real_images', '?')} real images"
    if fid.get("network"):
        caption += f"; {fid['network']}"
    parts: list[str] = [table(["generator", "FID", "KID", "KID s.e."], rows, numeric=(1, 2, 3), caption=caption)]
    if fid.get("note"):
        parts.append(note(str(fid["note"])))
    return parts


def render_eval(paths: tuple[Path, ...], ctx: RenderContext) -> list[Rendered]:
    out = []
    for path in paths:
        anchor = ctx.anchor("eval", path.parent)
        doc, error = read_json(path)
        if error is not None or not isinstance(doc, dict):
            parts: list[str] = [note(error or f"{path.name}: not a JSON object", "bad")]
        else:
            images, size = doc.get("images"), doc.get("size")
            facts = [("images", images), ("size", f"{size} px" if size is not None else None),
                     ("PSNR student vs teacher", _db(doc.get("psnr_db"))), ("worst image", _db(doc.get("psnr_db_min"))),
                     ("SSIM student vs teacher", doc.get("ssim"))]
            if doc.get("train_psnr_db") is not None:  # the same score on training images: far higher = memorised
                facts += [(f"PSNR on {doc.get('train_images')} training images", _db(doc.get("train_psnr_db"))),
                          ("worst training image", _db(doc.get("train_psnr_db_min")))]
            if doc.get("psnr_db_before") is not None:
                facts.append(("PSNR before distillation", _db(doc.get("psnr_db_before"))))
            if doc.get("psnr_db_p5") is not None:
                facts.insert(4, ("5th percentile", _db(doc.get("psnr_db_p5"))))
            known = {"images", "size", "psnr_db", "psnr_db_min", "ssim", "teacher", "student", "ratios", "fid", "grid",
                     "train_images", "train_psnr_db", "train_psnr_db_min", "psnr_db_before", "psnr_db_p5",
                     "worst_grid", "probes_grid"}
            facts += [(humanize(k), v) for k, v in doc.items() if k not in known and not isinstance(v, (dict, list))]
            grid_name = "eval_grid.png" if (path.parent / "eval_grid.png").is_file() else doc.get("grid")
            parts = [Raw('<div class="row"><div>' + key_values(facts) + "</div><div>"
                         + (_counts_table(doc) or "") + "</div></div>")]
            parts += _fid_parts(as_dict(doc.get("fid")))
            if grid_name:
                parts.append(embed_picture(grid_name, path.parent, ctx, "held-out images",
                                           columns=("input", "teacher", "student")))
            parts += _worst_parts(doc, path.parent, ctx)
            parts += _probe_parts(doc, path.parent, ctx)
        out.append(Rendered(anchor, "evaluation", section(anchor, "Student vs teacher", parts, subtitle=ctx.rel(path))))
    return out


def _worst_parts(doc: dict[str, Any], folder: Path, ctx: RenderContext) -> list[Any]:
    """The held-out images the student does worst on, worst first: what the mean hides."""
    worst = [w for w in doc.get("worst") or [] if isinstance(w, dict)]
    if not worst:
        return []
    rows = [[str(w.get("image", "?")), _db(w.get("psnr_db")), num_text(w.get("ssim"), 4)] for w in worst]
    parts: list[Any] = [table(["worst held-out image", "PSNR", "SSIM"], rows, numeric=(1, 2),
                              caption="the images the student matches its teacher worst on, worst first")]
    if (folder / "eval_worst.png").is_file():
        parts.append(embed_picture("eval_worst.png", folder, ctx, "worst held-out images, worst first",
                                   columns=("input", "teacher", "student")))
    return parts


def _probe_parts(doc: dict[str, Any], folder: Path, ctx: RenderContext) -> list[Any]:
    """Harder versions of a few held-out images (frames, exposure, greyscale): where the student may break
    on photos unlike the held-out ones (mobilegan.distill.probes)."""
    probes = [r for r in doc.get("probes") or [] if isinstance(r, dict)]
    if not probes:
        return []
    rows = [[str(r.get("probe", "?")), _db(r.get("psnr_db")), _db(r.get("psnr_db_min")), str(r.get("image", "?"))]
            for r in probes]
    parts: list[Any] = [table(["probe", "PSNR", "worst", "worst image"], rows, numeric=(1, 2),
                              caption="student vs teacher on harder versions of the first held-out images")]
    if (folder / "eval_probes.png").is_file():
        parts.append(embed_picture("eval_probes.png", folder, ctx, "the worst image of each probe, in table order",
                                   columns=("input", "teacher", "student")))
    return parts


def num_text(value: Any, digits: int) -> str | None:
    number = as_float(value)
    return None if number is None else f"{number:.{digits}f}"


def _db(value: Any) -> str | None:
    v = as_float(value)
    return f"{v:.2f} dB" if v is not None else None
