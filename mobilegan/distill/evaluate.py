"""Student-vs-teacher evaluation: PSNR, SSIM, MACs/params and their ratio, optional FID/KID, a grid.

Used by ``mobilegan eval`` and at the end of ``mobilegan distill``. FID/KID compare generated
images with a folder of real target-domain images through Inception-v3 features, only when
the Inception weights are already on this machine (see :mod:`mobilegan.metrics.inception`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from mobilegan.utils.progress import progress_bar

from mobilegan.metrics import psnr, ssim
from mobilegan.metrics.fid import fid_from_features, kid_from_features
from mobilegan.metrics.inception import FeatureFn, InceptionUnavailable, inception_features
from mobilegan.profile import profile_model
from mobilegan.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)

GRID_ROWS = 8
WORST_ROWS = 4  # the held-out images the student does worst on, shown in eval_worst.png and the report
EVAL_JSON = "eval.json"
EVAL_GRID = "eval_grid.png"
EVAL_WORST = "eval_worst.png"
EVAL_PROBES = "eval_probes.png"


@dataclass
class EvalReport:
    images: int
    size: int
    psnr_db: float  # mean over images, student vs teacher
    psnr_db_min: float
    ssim: float
    teacher: dict[str, int]  # params, macs, macs_compat at size
    student: dict[str, int]
    ratios: dict[str, float]  # teacher / student
    fid: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # the worst image of each probe (probes.py): input, teacher, student; pictures only, not in eval.json
    probe_pictures: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images, "size": self.size, "psnr_db": self.psnr_db, "psnr_db_min": self.psnr_db_min,
            "ssim": self.ssim, "teacher": self.teacher, "student": self.student, "ratios": self.ratios,
            "fid": self.fid, **self.extra,
        }


@torch.no_grad()
def generate(model: nn.Module, images: torch.Tensor, *, batch_size: int = 8, device: torch.device | str = "cpu",
             desc: str = "generate") -> torch.Tensor:
    """Eval-mode outputs for (N, 3, H, W) images, computed in batches, returned on the CPU."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        for i in progress_bar(range(0, len(images), batch_size), desc=desc, unit="batch", leave=False,
                              disable=len(images) <= batch_size):
            outs.append(model(images[i : i + batch_size].to(device)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs)


def _counts(model: nn.Module, size: int) -> dict[str, int]:
    prof = profile_model(model, size)
    return {"params": prof.params, "macs": prof.macs, "macs_compat": prof.macs_compat}


def fid_kid(real: torch.Tensor, generated: dict[str, torch.Tensor], features: FeatureFn, *,
            batch_size: int = 16) -> dict[str, Any]:
    """FID and KID of each generated set against ``real`` (all (N, 3, H, W) in [-1, 1])."""

    def feats(x: torch.Tensor, name: str) -> np.ndarray:
        chunks = [features(x[i : i + batch_size]).cpu().double().numpy()
                  for i in progress_bar(range(0, len(x), batch_size), desc=f"inception {name}", unit="batch",
                                        leave=False)]
        return np.concatenate(chunks)

    real_f = feats(real, "real")
    out: dict[str, Any] = {"real_images": int(len(real))}
    for name, images in generated.items():
        gen_f = feats(images, name)
        kid = kid_from_features(real_f, gen_f, subsets=50, subset_size=1000)
        se = kid.se if np.isfinite(kid.se) else None  # the jackknife needs 3+ images per side
        out[name] = {"fid": fid_from_features(real_f, gen_f), "kid": kid.mean, "kid_se": se,
                     "images": int(len(images))}
    if min(len(real), *(len(v) for v in generated.values())) < 2048:
        out["note"] = "fewer than 2048 images per side: FID is biased upwards; compare runs at equal counts only"
    return out


def worst_images(p: torch.Tensor, s: torch.Tensor, names: Sequence[str] | None, n: int = WORST_ROWS
                 ) -> list[dict[str, Any]]:
    """The ``n`` images with the lowest PSNR, worst first: index, name, PSNR and SSIM (what a mean hides)."""
    order = torch.argsort(p)[:n].tolist()
    return [{"index": i, "image": names[i] if names is not None else f"#{i}", "psnr_db": float(p[i]),
             "ssim": float(s[i])} for i in order]


def evaluate_pair(teacher: nn.Module, student: nn.Module, images: torch.Tensor, *, size: int,
                  device: torch.device | str = "cpu", fid_real: torch.Tensor | None = None,
                  inception_weights: str | os.PathLike[str] | None = None, names: Sequence[str] | None = None,
                  probes: bool = True) -> tuple[EvalReport, torch.Tensor, torch.Tensor]:
    """Score ``student`` against ``teacher`` on ``images`` (named ``names``, for the list of the worst ones)
    and, with ``probes``, on harder versions of a few of them (:mod:`mobilegan.distill.probes`);
    returns (report, teacher out, student out)."""
    t_out = generate(teacher, images, device=device, desc="teacher")
    s_out = generate(student, images, device=device, desc="student")
    p = psnr(s_out, t_out)
    s = ssim(s_out, t_out) if min(images.shape[-2:]) >= 11 else torch.full((len(images),), float("nan"))
    t_counts, s_counts = _counts(teacher, size), _counts(student, size)
    ratios = {k: t_counts[k] / max(1, s_counts[k]) for k in t_counts}
    fid: dict[str, Any] = {}
    if fid_real is not None:
        try:
            net = inception_features(inception_weights, device)
        except InceptionUnavailable as exc:
            log.warning("%s", exc)
            fid = {"skipped": str(exc)}
        else:
            fid = {**fid_kid(fid_real, {"student": s_out, "teacher": t_out}, net.features), "network": net.network}
    report = EvalReport(
        images=len(images), size=size, psnr_db=float(p.mean()), psnr_db_min=float(p.min()),
        ssim=float(s.mean()), teacher=t_counts, student=s_counts, ratios=ratios, fid=fid,
        extra={"psnr_db_p5": float(torch.quantile(p.double(), 0.05)), "worst": worst_images(p, s, names)},
    )
    if probes:
        from mobilegan.distill.probes import run_probes  # here, not at the top: probes imports this module

        results = run_probes(teacher, student, images, names, device=device)
        report.extra["probes"] = [r.to_dict() for r in results]
        report.probe_pictures = [r.pictures for r in results]
    return report, t_out, s_out


GAP_DB = 3.0  # training minus held-out PSNR above which distill says the student memorised its images


@torch.no_grad()
def score_training_images(teacher: nn.Module, student: nn.Module, images: torch.Tensor, *,
                          device: torch.device | str = "cpu") -> dict[str, Any]:
    """Student vs teacher PSNR on training images, scored like the held-out ones (``eval.json`` keys)."""
    p = psnr(generate(student, images, device=device, desc="student (training images)"),
             generate(teacher, images, device=device, desc="teacher (training images)"))
    return {"train_images": len(images), "train_psnr_db": float(p.mean()), "train_psnr_db_min": float(p.min())}


def generalisation_gap(report: EvalReport) -> str | None:
    """A warning when the student reproduces the teacher on its training images much better than on
    held-out ones: it learnt those photos, not what the teacher does to a new one (BENCHMARKS.md,
    "Distilling InstanceNorm teachers": teachers whose colours shift per image do this)."""
    train = report.extra.get("train_psnr_db")
    if train is None or train - report.psnr_db <= GAP_DB:
        return None
    return (f"the student matches the teacher on its training images ({train:.1f} dB) much better than on "
            f"held-out ones ({report.psnr_db:.1f} dB): it learnt those images, not what the teacher does to a new "
            "one; expect the held-out score on new photos (to try: more distinct training photos, or a larger "
            "student with --width / --student at a latency cost; BENCHMARKS.md, \"Distilling InstanceNorm teachers\")")


def write_eval(report: EvalReport, images: torch.Tensor, t_out: torch.Tensor, s_out: torch.Tensor,
               out_dir: Path) -> tuple[Path, ...]:
    """``eval.json``, ``eval_grid.png`` (rows: input | teacher | student), ``eval_worst.png`` (the same
    for the worst images, worst first) and ``eval_probes.png`` (the worst image of each probe), all atomic."""
    from mobilegan.train.samples import save_image_grid

    out_dir.mkdir(parents=True, exist_ok=True)
    n = min(GRID_ROWS, len(images))
    grid = save_image_grid([[images[i], t_out[i], s_out[i]] for i in range(n)], out_dir / EVAL_GRID)
    data = {**report.to_dict(), "grid": str(grid)}
    written = [grid]
    if worst := report.extra.get("worst"):
        rows = [w["index"] for w in worst]
        written.append(save_image_grid([[images[i], t_out[i], s_out[i]] for i in rows], out_dir / EVAL_WORST))
        data["worst_grid"] = str(written[-1])
    if report.probe_pictures:
        written.append(save_image_grid([list(row) for row in report.probe_pictures], out_dir / EVAL_PROBES))
        data["probes_grid"] = str(written[-1])
    path = atomic_write_text(out_dir / EVAL_JSON, json.dumps(data, indent=2) + "\n")
    return (path, *written)


def format_report(report: EvalReport) -> str:
    lines = [
        f"student vs teacher on {report.images} images at {report.size} px: "
        f"PSNR {report.psnr_db:.2f} dB (min {report.psnr_db_min:.2f}), SSIM {report.ssim:.4f}",
        *_worst_lines(report),
        f"  teacher {report.teacher['params']:,} params, {report.teacher['macs_compat'] / 1e9:.3f} G compat MACs "
        f"({report.teacher['macs'] / 1e9:.3f} G real)",
        f"  student {report.student['params']:,} params, {report.student['macs_compat'] / 1e9:.3f} G compat MACs "
        f"({report.student['macs'] / 1e9:.3f} G real)",
        f"  teacher/student: params x{report.ratios['params']:.1f}, compat MACs x{report.ratios['macs_compat']:.1f}, "
        f"real MACs x{report.ratios['macs']:.1f}",
    ]
    if "train_psnr_db" in report.extra:
        lines.append(f"  on {report.extra['train_images']} of its training images: PSNR "
                     f"{report.extra['train_psnr_db']:.2f} dB (min {report.extra['train_psnr_db_min']:.2f})")
    if "skipped" in report.fid:
        lines.append(f"  {report.fid['skipped']}")
    elif report.fid:
        for name in ("student", "teacher"):
            r = report.fid[name]
            se = f" +- {r['kid_se']:.4f} (s.e.)" if r.get("kid_se") is not None else " (no s.e.: under 3 images)"
            lines.append(f"  {name}: FID {r['fid']:.2f}, KID {r['kid']:.4f}{se} vs {report.fid['real_images']} real images")
        lines.append(f"  FID/KID network: {report.fid.get('network', '?')}")
    return "\n".join(lines)


def _worst_lines(report: EvalReport) -> list[str]:
    lines = []
    if worst := report.extra.get("worst") or []:
        lines.append(f"  5th percentile {report.extra['psnr_db_p5']:.2f} dB; worst: "
                     + ", ".join(f"{w['image']} {w['psnr_db']:.2f} dB" for w in worst))
    if probes := report.extra.get("probes") or []:
        lines.append("  harder versions of the first images (mean / worst): "
                     + ", ".join(f"{r['probe']} {r['psnr_db']:.2f} / {r['psnr_db_min']:.2f} dB" for r in probes))
    return lines


def load_named_folder(folder: Path, size: int, *, limit: int | None = None, name: str = "eval"
                      ) -> tuple[torch.Tensor, list[str]]:
    """Images of ``folder`` resized to ``size`` x ``size`` (file order, unreadable ones skipped) and their
    paths relative to ``folder``."""
    from mobilegan.data import AugmentConfig, ImageDataset

    ds = ImageDataset.from_folder(folder, AugmentConfig(size=size), name=name, shuffle=False)
    n = len(ds) if limit is None else min(limit, len(ds))
    images = torch.stack([ds.view(i) for i in progress_bar(range(n), desc=f"loading {name}", unit="img", leave=False,
                                                           disable=n < 50)])
    return images, [str(Path(f).relative_to(folder)) for f in ds.files[:n]]


def load_folder(folder: Path, size: int, *, limit: int | None = None, name: str = "eval") -> torch.Tensor:
    """Images of ``folder`` resized to ``size`` x ``size`` (file order), unreadable ones skipped."""
    return load_named_folder(folder, size, limit=limit, name=name)[0]


def evaluate_checkpoints(*, teacher: Path, student: Path, data: Path, size: int, out_dir: Path,
                         limit: int | None = None, device: str = "cpu", fid_real: Path | None = None,
                         inception_weights: Path | None = None) -> tuple[EvalReport, list[Path]]:
    """``mobilegan eval``: load both generators (any supported layout), score, write JSON + grid."""
    from mobilegan.checkpoints import load_generator_checkpoint

    t = load_generator_checkpoint(teacher, device)
    s = load_generator_checkpoint(student, device)
    from mobilegan.profile import check_side

    check_side(t.model, size, size)  # a U-Net teacher takes multiples of 2**levels only
    images, names = load_named_folder(data, size, limit=limit)
    real = load_folder(fid_real, size, name="fid_real") if fid_real is not None else None
    report, t_out, s_out = evaluate_pair(t.model, s.model, images, size=size, device=device, fid_real=real,
                                         inception_weights=inception_weights, names=names)
    report.extra.update(teacher_path=str(teacher), student_path=str(student), data=str(data),
                        teacher_layout=t.layout, student_layout=s.layout)
    return report, list(write_eval(report, images, t_out, s_out, out_dir))
