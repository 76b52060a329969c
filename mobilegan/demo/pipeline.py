"""``mobilegan demo``: teacher -> distill -> export -> verify -> bench -> report, on built-in photos.

By default the demo starts from the shipped teacher (``assets/demo_teacher.pt``) exactly as a
user starts from their own ``G_AB.pt``; ``from_scratch`` trains it first with ``mobilegan
train`` (slow on a CPU). Every stage is resumable: rerunning the same command reuses finished
stages and continues an interrupted distillation.
"""

from __future__ import annotations

import json
import logging
import re
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mobilegan.demo.defaults import DISTILL_BATCH, DISTILL_STEPS
from mobilegan.demo.photos import PHOTOS, SOURCE, DemoData, DemoDataConfig, build_demo_data
from mobilegan.demo.score import held_out, score_outputs
from mobilegan.demo.stages import StageRunner
from mobilegan.demo.style import __doc__ as STYLE_DOC
from mobilegan.demo.texture_styles import __doc__ as TEXTURE_DOC
from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_path, atomic_write_text
from mobilegan.utils.versions import package_versions
from mobilegan.version import __version__

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"
SHIPPED_TEACHER = ASSETS / "demo_teacher.pt"
SHIPPED_TEACHER_CARD = ASSETS / "demo_teacher.json"


@dataclass(frozen=True)
class DemoTeacher:
    """A shipped teacher and the look of its domain B (the ground truth of the held-out photos)."""

    file: str  # in assets/
    style: str  # mobilegan.demo.photos.style_function
    title: str


# `mobilegan demo --teacher NAME`. "default": the norm-none colour-grade teacher the demo was built
# on. "instance": an InstanceNorm teacher in the official latest_net_G_A.pth layout, as users bring
# (issue 22): distill reads its norm and picks whole-image targets and the context student.
DEMO_TEACHERS: dict[str, DemoTeacher] = {
    "default": DemoTeacher("demo_teacher.pt", "grade", "mobilegan demo: photo -> colour-graded look, on built-in photos"),
    "instance": DemoTeacher("instance_teacher.pth", "sketch",
                            "mobilegan demo: photo -> pencil sketch by an InstanceNorm teacher, on built-in photos"),
}
STAGES = ["data", "teacher", "distill", "export", "verify", "bench", "score", "showcase", "report"]
GRID_ROWS = 6
# The teacher recipe of scripts/train_demo_teacher.sh (the shipped teacher) for --from-scratch.
TEACHER_CROP = 32  # random 32 px crops of the 256 px blocks, at their own scale
TEACHER_DISCRIMINATOR = "patchgan_16"  # local colour and texture
# The official `--norm none`: InstanceNorm cannot see an image's mean colour or contrast, which the
# demo's colour grade changes (DESIGN.md section 3; the paired-fit table in BENCHMARKS.md).
TEACHER_NORM = "none"
# Nearest x2 + 3x3 conv instead of the paper's transposed conv: no checkerboard, so the teacher's
# SSIM clears the identity's and a student can copy it (BENCHMARKS.md, "CycleGAN runs").
TEACHER_UPSAMPLE = "nearest_conv"
TEACHER_IDENTITY = 0.5
TEACHER_CYCLE = 5.0  # half the paper's 10: a bolder grade (BENCHMARKS.md, "CycleGAN runs")
DISTILL_CROP = 64  # the student trains on 64 px crops (at their own scale) and is scored at 256 px
DISTILL_SSIM = 1.0  # (1 - SSIM) added to the output L1: `mobilegan distill --ssim` (BENCHMARKS.md recipe table)


@dataclass(frozen=True)
class DemoConfig:
    out: Path = Path("runs/demo")
    from_scratch: bool = False
    teacher_steps: int = 8000  # from-scratch teacher (the shipped one used the same)
    distill_steps: int = DISTILL_STEPS
    distill_batch: int = DISTILL_BATCH
    distill_size: int = DISTILL_CROP  # student training crops; scoring uses the 256 px held-out blocks whole
    student_blocks: int | None = None  # residual blocks of the student; None: the preset's (tests use 2: faster export)
    export_size: int = 256  # phone resolution of the exported artifacts
    bench_runs: int = 20
    bench_threads: tuple[int, ...] = (1, 2)
    targets: tuple[str, ...] = ("all",)
    progress: bool = True
    teacher: str = "default"  # a key of DEMO_TEACHERS

    @property
    def shipped(self) -> DemoTeacher:
        return DEMO_TEACHERS[self.teacher]

    def __post_init__(self) -> None:
        if min(self.teacher_steps, self.distill_steps, self.distill_batch, self.bench_runs) < 1:
            raise MobileganError("demo step counts, batch size and bench runs must be >= 1")
        if self.distill_size % 4 or self.export_size % 4 or min(self.distill_size, self.export_size) <= 0:
            raise MobileganError("demo sizes must be positive multiples of 4")
        if self.teacher not in DEMO_TEACHERS:
            raise MobileganError(f"unknown demo teacher {self.teacher!r}; choose one of {', '.join(DEMO_TEACHERS)}")
        if self.from_scratch and self.teacher != "default":
            raise MobileganError("--from-scratch trains the default teacher only; the InstanceNorm teacher was "
                                 "fitted with scripts/fit_texture_teacher.py (see its assets/*.json card)")


@dataclass
class DemoResult:
    out: Path
    report: Path
    summary: dict[str, Any] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    return {"mobilegan": __version__, "python": platform.python_version(),
            **package_versions("torch", "executorch", "coremltools", "onnx", "onnxruntime", "scikit-image")}


def _stage_teacher(cfg: DemoConfig, data: DemoData) -> tuple[str, dict[str, Any]]:
    dest = cfg.out / "teacher" / "G_AB.pt"
    if cfg.from_scratch:
        from mobilegan.train import TrainConfig, train_cyclegan

        tcfg = TrainConfig(data_a=str(data.train_a), data_b=str(data.train_b), out=str(cfg.out / "teacher"),
                           generator="resnet_6blocks", ngf=32, norm=TEACHER_NORM, upsample=TEACHER_UPSAMPLE,
                           discriminator=TEACHER_DISCRIMINATOR,
                           size=TEACHER_CROP, preprocess="crop",
                           steps=cfg.teacher_steps, lambda_cycle=TEACHER_CYCLE, lambda_identity=TEACHER_IDENTITY, seed=0, device="cpu",
                           resume=(cfg.out / "teacher" / "train_state.pt").is_file(), progress=cfg.progress,
                           save_every=250, sample_every=1000)
        result = train_cyclegan(tcfg)
        if result.interrupted:
            raise KeyboardInterrupt
        return f"trained {result.steps} steps from scratch", {"checkpoint": str(result.g_ab), "from_scratch": True}
    shipped = ASSETS / cfg.shipped.file
    card_file = shipped.with_suffix(".json")
    if not shipped.is_file():
        raise MobileganError(f"the shipped demo teacher is missing ({shipped}); run `mobilegan demo --from-scratch`")
    dest = dest.with_name("G_AB" + shipped.suffix)  # an official-layout .pth stays one
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        shutil.copyfile(shipped, tmp)
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    return "shipped teacher copied (as a user's own G_AB.pt)", {"checkpoint": str(dest), "from_scratch": False,
                                                                  "card": card}


def _stage_distill(cfg: DemoConfig, data: DemoData, teacher: Path) -> tuple[str, dict[str, Any]]:
    from mobilegan.distill.config import DistillConfig
    from mobilegan.distill.losses import LossWeights
    from mobilegan.distill.run import distill

    out = cfg.out / "distill"
    dcfg = DistillConfig(teacher=teacher, data_a=data.train_a, data_b=data.train_b, eval_data=data.test_a,
                         out_dir=out, size=cfg.distill_size, preprocess="crop", eval_size=DemoDataConfig().held_side,
                         steps=cfg.distill_steps, batch_size=cfg.distill_batch, weights=LossWeights(ssim=DISTILL_SSIM),
                         device="cpu", resume=(out / "train_state.pt").is_file(), progress=cfg.progress,
                         save_every=250, sample_every=500,
                         student_overrides={} if cfg.student_blocks is None else {"n_blocks": cfg.student_blocks})
    result = distill(dcfg)
    if result.interrupted:
        raise KeyboardInterrupt
    detail = f"{result.end_step} steps, {result.images_per_s:.0f} img/s, student {result.student.name}"
    return detail, {"student": str(result.student_path), "images_per_s": result.images_per_s,
                    "psnr_db_before": result.psnr_db_before}


INT8_FAILURE = "int8_parity_failure.txt"  # in the demo folder: why the grid has no int8 column


def _stage_export(cfg: DemoConfig, data: DemoData, student: Path) -> tuple[str, dict[str, Any]]:
    """Every target with parity. An int8 program that misses its parity floor is reported, not
    shipped: the fp32 targets are exported without it and the report says why (as
    `mobilegan export` would refuse it, the demo does not hide it either)."""
    from mobilegan.export.parity import ParityError
    from mobilegan.export.pipeline import export_model, resolve_targets

    failure_file = cfg.out / INT8_FAILURE  # read by the score stage, which may run in a later process
    failure_file.unlink(missing_ok=True)
    failure: str | None = None
    common = dict(out_dir=cfg.out / "export", size=cfg.export_size, calib_data=data.train_a, bundled=True)
    try:
        card = export_model(student, targets=list(cfg.targets), quantize="int8", **common)
    except ParityError as exc:
        if exc.precision != "int8":
            raise
        failure = str(exc)
        log.warning("%s; exporting the fp32 targets without it", failure)
        atomic_write_text(failure_file, failure + "\n")
        card = export_model(student, targets=[t.name for t in resolve_targets(list(cfg.targets))], quantize=None,
                            **common)
    arts = card.to_dict()["artifacts"]
    return f"{len(arts)} artifacts", {"export_dir": str(cfg.out / "export"),
                                      "artifacts": [f"{a['target']} {a['precision']}" for a in arts],
                                      "int8_failed": failure}


def _stage_verify(cfg: DemoConfig) -> tuple[str, dict[str, Any]]:
    from mobilegan.export.verify import verify_export

    report = verify_export(cfg.out / "export")
    if not report.ok:
        raise MobileganError("verify failed: " + "; ".join(f"{c.file}: {c.detail}" for c in report.failed))
    checks = [c.to_dict() for c in report.checks]
    n_ok = sum(c.status == "ok" for c in report.checks)
    skipped = [c.file for c in report.checks if c.status == "skipped"]
    detail = f"{n_ok} artifact(s) re-verified against PyTorch" + (f"; cannot run here: {', '.join(skipped)}" if skipped else "")
    return detail, {"checks": checks}


def _stage_bench(cfg: DemoConfig, teacher: Path, student: Path) -> tuple[str, dict[str, Any]]:
    from mobilegan.bench.core import BenchConfig, run_bench
    from mobilegan.bench.machine import describe_machine
    from mobilegan.bench.plot import plot_latency
    from mobilegan.bench.results import write_results
    from mobilegan.bench.roofline import roofline_table

    bcfg = BenchConfig(size=cfg.export_size, threads=cfg.bench_threads, runs=cfg.bench_runs, warmup=3,
                       progress=cfg.progress)
    rows = run_bench([cfg.out / "export", student], bcfg, teacher=str(teacher))
    macs = next((r.macs for r in rows if r.macs and not r.model.startswith("teacher")), None)
    write_results(cfg.out / "bench.json", describe_machine(), rows,
                  {"roofline_estimates": roofline_table(macs) if macs else []})
    plot_latency(rows, cfg.out / "bench.png", f"median latency, {cfg.export_size}px")
    best = min((r for r in rows if not r.model.startswith("teacher")), key=lambda r: r.median_ms)
    return (f"{len(rows)} rows; fastest {best.runtime} {best.precision} {best.median_ms:.1f} ms "
            f"({best.speedup_vs_teacher or 0:.1f}x teacher)", {"rows": len(rows)})


@torch.no_grad()
def _stage_score(cfg: DemoConfig, data: DemoData, teacher: Path, student: Path) -> tuple[str, dict[str, Any]]:
    from mobilegan.checkpoints import load_generator
    from mobilegan.metrics import psnr, ssim
    from mobilegan.inference.exported import ExportedRunner
    from mobilegan.inference.tiling import TileConfig
    from mobilegan.train.samples import save_image_grid

    inputs, truth = held_out(data, DemoDataConfig().held_side)
    t_out = load_generator(teacher)(inputs)
    s_out = load_generator(student)(inputs)
    columns = {"input": inputs, "ground truth": truth, "teacher": t_out, "student": s_out}
    card = json.loads((cfg.out / "export" / "model.json").read_text())
    not_shown: list[str] = []
    for art in card["artifacts"]:
        path = cfg.out / "export" / art["file"]
        if art["target"] not in ("executorch", "onnx", "litert") or path.suffix not in (".pte", ".onnx", ".tflite"):
            not_shown.append(art["file"])  # Core ML runs only on Apple devices (parity used the MIL interpreter)
            continue
        runner = ExportedRunner(path)
        tile = TileConfig(tile=cfg.export_size)  # held-out blocks larger than the export size are tiled
        columns[f"{art['target']} {art['precision']}"] = torch.cat([runner(inputs[i : i + 1], tile) for i in range(len(inputs))])
    scores = {
        "identity_vs_truth": score_outputs(inputs, inputs, truth).to_dict(),
        "teacher_vs_truth": score_outputs(t_out, inputs, truth).to_dict(),
        "student_vs_truth": score_outputs(s_out, inputs, truth).to_dict(),
        "student_vs_teacher": {"psnr_db": round(float(psnr(s_out, t_out).mean()), 3),
                               "ssim": round(float(ssim(s_out, t_out).mean()), 4)},
    }
    for name, out in columns.items():
        if name not in ("input", "ground truth", "teacher", "student"):
            scores[f"{name} vs truth"] = {"psnr_db": round(float(psnr(out, truth).mean()), 3),
                                          "ssim": round(float(ssim(out, truth).mean()), 4)}
    # Rows spread over the held-out set, so every photo shows up (crops are stored photo by photo).
    rows = sorted({round(k * (len(inputs) - 1) / max(1, GRID_ROWS - 1)) for k in range(min(GRID_ROWS, len(inputs)))})
    save_image_grid([[col[i] for col in columns.values()] for i in rows], cfg.out / "grid.png")
    t, s, i = scores["teacher_vs_truth"], scores["student_vs_truth"], scores["identity_vs_truth"]
    detail = (f"PSNR vs ground truth: identity {i['psnr_db']:.2f} dB, teacher {t['psnr_db']:.2f} dB, "
              f"student {s['psnr_db']:.2f} dB; student vs teacher {scores['student_vs_teacher']['psnr_db']:.2f} dB")
    failure = cfg.out / INT8_FAILURE
    failed = [failure.read_text().strip()] if failure.is_file() else []
    return detail, {"scores": scores, "grid": {"file": "grid.png", "columns": list(columns),
                                                         "not_shown": not_shown, "failed": failed}}


def _stage_showcase(cfg: DemoConfig, teacher: Path) -> tuple[str, dict[str, Any]]:
    from mobilegan.demo.showcase import build_showcase
    from mobilegan.inference.exported import describe_config

    card = json.loads((cfg.out / "export" / "model.json").read_text())
    pte = next((cfg.out / "export" / a["file"] for a in card["artifacts"]
                if a["target"] == "executorch" and a["precision"] == "fp32" and a["file"].endswith(".pte")), None)
    described = describe_config(card.get("config", {}))
    # a student that reads the whole image: show its checkpoint too (tiles with the whole photo's context)
    whole_image = described is not None and (described.whole or described.own_context)
    student = cfg.out / "distill" / "student.pt"
    record = build_showcase(cfg.out, teacher=teacher, student_pte=pte, export_size=cfg.export_size,
                            style=cfg.shipped.style, student=student if whole_image and student.is_file() else None,
                            pte_facts=described)
    scores = ", ".join(f"{k} {v:.2f} dB" for k, v in record["psnr_db_vs_truth"].items())
    return f"{record['photo']} {record['width']}x{record['height']} through translate: {scores}", record


def plain_text(doc: str) -> str:
    """A module docstring as one plain paragraph for the report: no reST roles (``:mod:`x``` -> x),
    no literal quotes, list items marked with a bullet."""
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc).replace("``", "")
    doc = re.sub(r"(^|\n)\s*[*-] ", "\n\u2022 ", doc.strip())
    doc = re.sub(r"[ \t]*\n[ \t]*(?!\u2022)", " ", doc).replace("\n", " ")
    return re.sub(r" {2,}", " ", doc).strip()


def _write_summary(cfg: DemoConfig, runner: StageRunner, results: dict[str, dict[str, Any]], command: str) -> dict[str, Any]:
    from mobilegan.bench.machine import describe_machine

    score = results.get("score", {})
    summary = {
        "title": cfg.shipped.title,
        "data": {"source": SOURCE, "photos": [{"file": f, "credit": c} for f, c in PHOTOS],
                 "style": plain_text(STYLE_DOC if cfg.shipped.style == "grade" else TEXTURE_DOC or ""),
                 "counts": results.get("data", {})},
        "teacher": results.get("teacher", {}),
        "scores": score.get("scores", {}),
        "grid": score.get("grid", {}),
        "showcase": results.get("showcase", {}),
        "stages": runner.summary(),
        "commands": [command, "equivalent steps: mobilegan distill --teacher <run>/teacher/G_AB.pt --data-a <run>/data/trainA "
                     f"--data-b <run>/data/trainB --eval-data <run>/data/testA --size {cfg.distill_size} --preprocess crop "
                     f"--eval-size 256 --steps {cfg.distill_steps} --batch-size {cfg.distill_batch} --ssim {DISTILL_SSIM}"
                     + ("" if cfg.student_blocks is None else f" --n-blocks {cfg.student_blocks}")
                     + "; mobilegan export <student> "
                     f"--target all --bundled --calib-data <run>/data/trainA --size {cfg.export_size}; "
                     "mobilegan bench <run>/export <student> --teacher <teacher>; "
                     "mobilegan translate motorcycle_left.png --model <teacher or .pte> --out <run>/showcase"],
        "versions": _versions(),
        "machine": describe_machine(),
    }
    atomic_write_text(cfg.out / "demo.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def run_demo(cfg: DemoConfig, *, command: str | None = None) -> DemoResult:
    """Run (or resume) the whole demo into ``cfg.out``; returns where the report is."""
    if cfg.out.exists() and not cfg.out.is_dir():
        raise MobileganError(f"--out {cfg.out}: exists and is not a folder")
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    runner = StageRunner(cfg.out, STAGES)
    command = command or " ".join(["mobilegan", "demo", *sys.argv[2:]])
    results: dict[str, dict[str, Any]] = {}
    data = build_demo_data(cfg.out / "data", DemoDataConfig(style=cfg.shipped.style))
    results["data"] = runner.run("data", lambda: ("built from bundled photos", {
        "trainA": len(list(data.train_a.iterdir())), "trainB": len(list(data.train_b.iterdir())),
        "held_out": len(list(data.test_a.iterdir()))}))
    results["teacher"] = runner.run("teacher", lambda: _stage_teacher(cfg, data))
    teacher = Path(results["teacher"]["checkpoint"])
    results["distill"] = runner.run("distill", lambda: _stage_distill(cfg, data, teacher))
    student = Path(results["distill"]["student"])
    results["export"] = runner.run("export", lambda: _stage_export(cfg, data, student))
    results["verify"] = runner.run("verify", lambda: _stage_verify(cfg))
    results["bench"] = runner.run("bench", lambda: _stage_bench(cfg, teacher, student))
    results["score"] = runner.run("score", lambda: _stage_score(cfg, data, teacher, student))
    results["showcase"] = runner.run("showcase", lambda: _stage_showcase(cfg, teacher))
    summary = _write_summary(cfg, runner, results, command)

    def report() -> tuple[str, dict[str, Any]]:
        from mobilegan.report import build_report

        path = build_report(cfg.out, title=summary["title"])
        return str(path), {"report": str(path)}

    runner.records.pop("report", None)  # the report always reflects the latest state
    results["report"] = runner.run("report", report)
    summary = _write_summary(cfg, runner, results, command)
    return DemoResult(out=cfg.out, report=Path(results["report"]["report"]), summary=summary)
