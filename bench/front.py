"""The latency-fidelity front (issue 16): every candidate student distilled with one budget, then
ExecuTorch latency against student-vs-teacher PSNR.

    demo data -> for each candidate: distill (same budget) -> lower fp32 (+ int8) .pte
              -> PSNR vs the teacher on the held-out blocks -> time every .pte and the teacher
                 (eager) interleaved in one process, same threads -> mark the front -> JSON + plot

Fidelity is measured on what ships: the fp32 row scores the eager student (the fp32 ``.pte`` matches
it to >= 60 dB, see the export parity checks), the int8 row scores the int8 ``.pte`` itself. A
finished candidate folder (``student.pt`` at the budget's step count) is reused, so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from mobilegan.errors import ConfigError, MobileganError
from mobilegan.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCHEMA = "mobilegan.front/1"


@dataclass(frozen=True)
class Candidate:
    """A registry preset with field overrides, e.g. ``mobile_s2d2_w025:n_blocks=4``."""

    preset: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return ":".join([self.preset, *(f"{k}={v}" for k, v in self.overrides)])

    @property
    def folder(self) -> str:
        return self.label.replace(":", "_").replace("=", "")

    def overrides_dict(self) -> dict[str, Any]:
        return dict(self.overrides)


def parse_candidate(spec: str) -> Candidate:
    """``preset[:field=value...]``; values are ints, floats or true/false."""
    preset, *rest = (part.strip() for part in spec.strip().split(":"))
    if not preset:
        raise ConfigError(f"candidate {spec!r}: no preset name")
    overrides = []
    for item in rest:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"candidate {spec!r}: {item!r} is not field=value")
        overrides.append((key, _value(raw)))
    return Candidate(preset, tuple(overrides))


def _value(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


# Today's presets, the space-to-depth family, widths and block counts (int8 is a second row each).
DEFAULT_CANDIDATES: tuple[Candidate, ...] = tuple(parse_candidate(s) for s in (
    "mobile_w0125", "mobile_w025", "mobile_w050", "mobile_w025_in", "mobile_w025:n_blocks=4",
    "mobile_s2d2_w025", "mobile_s2d2_w050", "mobile_s2d2_w025:n_blocks=4", "mobile_s2d2_w025:n_blocks=12",
    "mobile_s2d4_w025", "mobile_s2d4_w050", "mobile_s2d4_w050:n_blocks=4",
))


@dataclass(frozen=True)
class FrontConfig:
    teacher: Path
    work_dir: Path  # one folder per candidate (distill run, .pte files) and the demo data
    candidates: tuple[Candidate, ...] = DEFAULT_CANDIDATES
    steps: int = 2000  # the distillation budget, equal for every candidate
    batch_size: int = 4
    train_size: int = 64  # random crops of the demo blocks
    size: int = 256  # latency and fidelity side (held-out 256 px blocks)
    threads: int = 2
    runs: int = 20
    warmup: int = 3
    int8: bool = True
    # Timed in eager PyTorch in the same interleaved run (random weights: latency only), so the
    # speed-ups against the paper's teacher (issue 16's goals) come from one run too; None: skip.
    paper_teacher: str | None = "resnet_9blocks"
    seed: int = 0
    data_root: Path | None = None  # demo data folder (default: work_dir / "demo-data")
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ConfigError("the front needs at least one candidate")
        if self.steps < 1 or self.runs < 1 or self.threads < 1 or self.warmup < 0:
            raise ConfigError("--steps, --runs and --threads must be >= 1 and --warmup >= 0")


@dataclass
class FrontPoint:
    label: str
    preset: str
    overrides: dict[str, Any]
    precision: str
    params: int
    macs: int
    macs_compat: int
    psnr_db: float  # mean over the held-out images, student vs teacher, [-1, 1] range
    psnr_db_min: float
    median_ms: float = 0.0
    p10_ms: float = 0.0
    p90_ms: float = 0.0
    speedup_vs_teacher: float | None = None
    speedup_vs_paper_teacher: float | None = None
    pte_bytes: int = 0
    segments: int | None = None
    distill_seconds: float | None = None
    on_front: bool = False


def mark_front(points: list[FrontPoint]) -> list[FrontPoint]:
    """Flag the Pareto front: no other point is at least as fast and as faithful, and better in one."""
    for p in points:
        p.on_front = not any(
            q is not p and q.median_ms <= p.median_ms and q.psnr_db >= p.psnr_db
            and (q.median_ms < p.median_ms or q.psnr_db > p.psnr_db)
            for q in points
        )
    return points


def _psnr(student_out: torch.Tensor, teacher_out: torch.Tensor) -> tuple[float, float]:
    from mobilegan.metrics import psnr

    values = psnr(student_out, teacher_out)
    return round(float(values.mean()), 3), round(float(values.min()), 3)


TEACHER_STAMP = "front_teacher.sha256"  # in each candidate folder: which teacher its run distils


def _check_teacher_stamp(out: Path, teacher_sha: str) -> None:
    """A candidate folder is only reused or resumed for the teacher it was made from (same path,
    new file: the demo teacher is replaced in place)."""
    stamp = out / TEACHER_STAMP
    if out.is_dir() and any(out.iterdir()):
        if not stamp.is_file() or stamp.read_text().strip() != teacher_sha:
            raise MobileganError(f"{out} holds a run from another teacher (or an unknown one); "
                                 f"pass a new --work folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(stamp, teacher_sha + "\n")


def _distilled(cfg: FrontConfig, cand: Candidate, data: Any, teacher_sha: str) -> tuple[Path, float | None]:
    """The candidate's student after the budget: reused when its folder holds a finished one."""
    from mobilegan.checkpoints import load_generator_checkpoint
    from mobilegan.distill.config import DistillConfig
    from mobilegan.distill.run import distill

    out = cfg.work_dir / cand.folder
    _check_teacher_stamp(out, teacher_sha)
    done = out / "student.pt"
    if done.is_file():
        meta = load_generator_checkpoint(done).meta
        if meta.get("step") == cfg.steps and (meta.get("distill") or {}).get("steps") == cfg.steps:
            log.info("%s: reusing %s (%d steps)", cand.label, done, cfg.steps)
            return done, None
    result = distill(DistillConfig(
        teacher=cfg.teacher, data_a=data.train_a, eval_data=data.test_a, out_dir=out, student=cand.preset,
        student_overrides=cand.overrides_dict(), size=cfg.train_size, preprocess="crop", eval_size=cfg.size,
        steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed, save_every=0, sample_every=0,
        resume=(out / "train_state.pt").is_file(), progress=cfg.progress,
    ))
    if result.interrupted:
        raise KeyboardInterrupt
    return result.student_path, round(result.seconds, 1)


def _lower(student: torch.nn.Module, out: Path, precision: str, size: int, calib: torch.Tensor) -> tuple[Path, int]:
    from mobilegan.export.executorch import build_program, serialize

    lowered = build_program(student, size=(size, size), precision=precision, calib=calib)
    return serialize(lowered, out / f"student_{precision}.pte"), lowered.delegation.segments


def measure_candidates(cfg: FrontConfig) -> tuple[list[FrontPoint], dict[str, Any]]:
    """Distill, lower and score every candidate; time them all with the teacher; mark the front."""
    from mobilegan.bench.runtimes import set_executorch_threads
    from mobilegan.checkpoints import load_generator
    from mobilegan.checkpoints.tf_loader import checkpoint_sha256
    from mobilegan.demo.photos import build_demo_data
    from mobilegan.distill.evaluate import generate, load_folder
    from mobilegan.export.executorch import run_pte
    from mobilegan.export.images import select_images
    from mobilegan.profile import profile_model

    set_executorch_threads(cfg.threads)  # before any program is loaded or run (DESIGN.md section 3)
    data = build_demo_data(cfg.data_root or cfg.work_dir / "demo-data")
    held = load_folder(data.test_a, cfg.size, name="held-out")  # (N, 3, S, S) in [-1, 1]
    calib = select_images(calib_data=data.train_a, meta={}, size=(cfg.size, cfg.size)).calib  # [0, 1]
    teacher = load_generator(cfg.teacher).eval()
    teacher_sha = checkpoint_sha256(cfg.teacher)
    teacher_out = generate(teacher, held)
    points: list[FrontPoint] = []
    ptes: dict[str, Path] = {}
    for cand in cfg.candidates:
        path, seconds = _distilled(cfg, cand, data, teacher_sha)
        student = load_generator(path).eval()
        prof = profile_model(student, cfg.size)
        base = dict(label=cand.label, preset=cand.preset, overrides=cand.overrides_dict(), params=prof.params,
                    macs=prof.macs, macs_compat=prof.macs_compat, distill_seconds=seconds)
        for precision in ("fp32", "int8") if cfg.int8 else ("fp32",):
            pte, segments = _lower(student, path.parent, precision, cfg.size, calib)
            if precision == "fp32":
                score = _psnr(generate(student, held), teacher_out)
            else:  # the int8 program itself, on [0, 1] pixels
                score = _psnr(run_pte(pte, (held + 1) / 2) * 2 - 1, teacher_out)
            point = FrontPoint(**base, precision=precision, psnr_db=score[0], psnr_db_min=score[1],
                               pte_bytes=pte.stat().st_size, segments=segments)
            log.info("%s %s: %.2f dB vs teacher, %d segment(s)", cand.label, precision, point.psnr_db, segments)
            points.append(point)
            ptes[f"{cand.label}/{precision}"] = pte
    teacher_ms, paper_ms = _time_all(cfg, points, ptes, teacher)
    teacher_prof = profile_model(teacher, cfg.size)
    info = {"teacher": str(cfg.teacher), "teacher_eager_ms": round(teacher_ms, 3), "teacher_params": teacher_prof.params,
            "teacher_macs": teacher_prof.macs, "teacher_config": teacher.config.to_dict(), "teacher_sha256": teacher_sha,
            "held_out_images": len(held),
            "paper_teacher": cfg.paper_teacher, "paper_teacher_eager_ms": round(paper_ms, 3) if paper_ms else None}
    return mark_front(points), info


def _time_all(cfg: FrontConfig, points: list[FrontPoint], ptes: dict[str, Path],
              teacher: torch.nn.Module) -> tuple[float, float | None]:
    """Every .pte, the teacher (and the paper's teacher) in eager PyTorch, interleaved, ``cfg.threads``
    threads each; returns the teachers' medians."""
    from mobilegan.bench.runtimes import eager_call, executorch_call
    from mobilegan.bench.timing import time_interleaved
    from mobilegan.models import create_model

    shape = [1, 3, cfg.size, cfg.size]
    calls = {key: executorch_call(pte, shape) for key, pte in ptes.items()}
    calls["teacher"] = eager_call(teacher, (cfg.size, cfg.size), cfg.threads)
    if cfg.paper_teacher:
        calls["paper_teacher"] = eager_call(create_model(cfg.paper_teacher), (cfg.size, cfg.size), cfg.threads)
    timings = time_interleaved(calls, runs=cfg.runs, warmup=cfg.warmup, progress=cfg.progress)
    teacher_ms = timings["teacher"].median_ms
    paper_ms = timings["paper_teacher"].median_ms if cfg.paper_teacher else None
    for p in points:
        t = timings[f"{p.label}/{p.precision}"]
        p.median_ms, p.p10_ms, p.p90_ms = round(t.median_ms, 3), round(t.p10_ms, 3), round(t.p90_ms, 3)
        p.speedup_vs_teacher = round(teacher_ms / t.median_ms, 2)
        if paper_ms:
            p.speedup_vs_paper_teacher = round(paper_ms / t.median_ms, 2)
    return teacher_ms, paper_ms


def front_document(cfg: FrontConfig, points: list[FrontPoint], info: dict[str, Any],
                   machine: dict[str, Any]) -> dict[str, Any]:
    import datetime as _dt

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    settings["candidates"] = [c.label for c in cfg.candidates]
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": settings,
        **info,
        "points": [asdict(p) for p in sorted(points, key=lambda p: p.median_ms)],
    }


def format_front(points: list[FrontPoint]) -> str:
    """Markdown table, fastest first; front points in bold."""
    lines = ["| candidate | prec | params | G MACs (real) | ExecuTorch ms | vs teacher | vs paper teacher "
             "| PSNR vs teacher dB (min) | front |",
             "|---|---|---:|---:|---:|---:|---:|---:|:-:|"]
    for p in sorted(points, key=lambda p: p.median_ms):
        name = f"**{p.label}**" if p.on_front else p.label
        lines.append(f"| {name} | {p.precision} | {p.params / 1e3:.0f} k | {p.macs / 1e9:.2f} | {p.median_ms:.1f} | "
                     f"{p.speedup_vs_teacher or 0:.1f}x | "
                     f"{f'{p.speedup_vs_paper_teacher:.1f}x' if p.speedup_vs_paper_teacher else '-'} | "
                     f"{p.psnr_db:.2f} ({p.psnr_db_min:.2f}) | "
                     f"{'yes' if p.on_front else ''} |")
    return "\n".join(lines)
