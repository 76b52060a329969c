"""``mobilegan bench``: every artifact of each export folder and every checkpoint, one process,
interleaved, same thread count; rows with latency, memory, size, MACs and efficiency."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mobilegan.bench.machine import describe_cpu
from mobilegan.bench.results import Row, fill_efficiency
from mobilegan.bench.runtimes import Call, eager_call, executorch_call, litert_call, onnx_call, set_executorch_threads
from mobilegan.bench.timing import time_interleaved
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.errors import MobileganError
from mobilegan.profile import profile_model
from mobilegan.utils.sizes import image_size_problem

log = logging.getLogger(__name__)

RUNTIME_NAMES = {"executorch": "executorch-xnnpack", "onnx": "onnxruntime-cpu", "litert": "litert-xnnpack",
                 "eager": "eager-pytorch"}


@dataclass(frozen=True)
class BenchConfig:
    size: int = 256
    threads: tuple[int, ...] = (1, 2)
    runs: int = 50
    warmup: int = 5
    progress: bool = True

    def __post_init__(self) -> None:
        if problem := image_size_problem(self.size):
            raise MobileganError(f"--size: {problem}")
        if self.runs < 1 or self.warmup < 0 or not self.threads or min(self.threads) < 1:
            raise MobileganError("--runs must be >= 1, --warmup >= 0 and --threads positive integers")


@dataclass
class _Item:
    key: str
    row: Row
    make: Any  # (threads) -> Call
    is_teacher: bool = False


def _checkpoint_items(path: Path, cfg: BenchConfig, *, teacher: bool) -> list[_Item]:
    from mobilegan.checkpoints.tf_loader import checkpoint_bytes

    loaded = load_generator_checkpoint(path)
    prof = profile_model(loaded.model, cfg.size)
    name = ("teacher:" if teacher else "") + path.stem
    row = Row(model=name, runtime=RUNTIME_NAMES["eager"], precision="fp32", threads=0, size=cfg.size,
              median_ms=0, p10_ms=0, p90_ms=0, runs=0, bytes=checkpoint_bytes(path), params=prof.params,
              macs=prof.macs, macs_compat=prof.macs_compat)
    model = loaded.model
    return [_Item(f"eager:{path}", row, lambda t, m=model: eager_call(m, (cfg.size, cfg.size), t), teacher)]


def _litert_runs_here(file: str) -> bool:
    from mobilegan.export.litert_runtime import litert_missing

    if (missing := litert_missing()) is not None:
        log.warning("skipping %s: %s", file, missing)
        return False
    return True


def _export_items(folder: Path, cfg: BenchConfig) -> list[_Item]:
    from mobilegan.export.model_card import read_card

    card = read_card(folder)
    if tuple(card.size) != (cfg.size, cfg.size):
        log.warning("%s was exported at %s; benchmarking at that size, not --size %d", folder, card.size, cfg.size)
    items = []
    for art in card.artifacts:
        target, path = art["target"], folder / art["file"]
        shape = art["input"]["shape"]
        if target == "executorch" and path.suffix == ".pte":
            make = lambda t, p=path, s=shape: executorch_call(p, s)  # noqa: E731 - threads set globally
        elif target == "onnx":
            make = lambda t, p=path, s=shape: onnx_call(p, s, t)  # noqa: E731
        elif target == "litert" and path.suffix == ".tflite" and _litert_runs_here(art["file"]):
            make = lambda t, p=path, s=shape: litert_call(p, s, t)  # noqa: E731 - NCHW shape read from the file
        else:
            log.info("skipping %s (%s cannot run here)", art["file"], target)
            continue
        row = Row(model=card.name, runtime=RUNTIME_NAMES[target], precision=art["precision"], threads=0,
                  size=list(card.size), median_ms=0, p10_ms=0, p90_ms=0, runs=0, bytes=art["bytes"],
                  params=card.params, macs=card.macs, macs_compat=card.macs_compat,
                  extra={"file": art["file"], "segments": (art.get("delegation") or {}).get("segments")})
        items.append(_Item(f"{target}:{path}", row, make))
    return items


def collect_items(specs: list[str | os.PathLike[str]], cfg: BenchConfig, teacher: str | None) -> list[_Item]:
    from mobilegan.checkpoints.tf_checkpoint import looks_like_tf_checkpoint
    from mobilegan.checkpoints.tf_loader import checkpoint_exists

    items: list[_Item] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir() and (path / "model.json").is_file():
            items += _export_items(path, cfg)
        elif path.is_file() or (checkpoint_exists(spec) and (not path.is_dir() or looks_like_tf_checkpoint(path))):
            # a checkpoint file, or a TF checkpoint (its folder, ckpt-N, PATH:NAME); another folder falls through
            items += _checkpoint_items(path, cfg, teacher=False)
        elif path.is_dir():
            raise MobileganError(f"{path}: no model.json (pass an export folder or a checkpoint)")
        else:
            raise MobileganError(f"{path}: no such file or folder")
    if teacher:
        items += _checkpoint_items(Path(teacher), cfg, teacher=True)
    if not items:
        raise MobileganError("nothing to benchmark: no runnable artifact or checkpoint")
    return items


def run_bench(specs: list[str | os.PathLike[str]], cfg: BenchConfig, *, teacher: str | None = None) -> list[Row]:
    """Measure every item at every thread count; one row per item x threads."""
    items = collect_items(specs, cfg, teacher)
    cpu = describe_cpu()
    rows: list[Row] = []
    torch_threads = torch.get_num_threads()
    try:
        for threads in cfg.threads:
            set_executorch_threads(threads)
            calls: dict[str, Call] = {it.key: it.make(threads) for it in items}
            timings = time_interleaved(calls, runs=cfg.runs, warmup=cfg.warmup, progress=cfg.progress)
            teacher_ms = next((timings[it.key].median_ms for it in items if it.is_teacher), None)
            for it in items:
                t = timings[it.key]
                row = Row(**{**it.row.__dict__, "threads": threads, "median_ms": round(t.median_ms, 3),
                             "p10_ms": round(t.p10_ms, 3), "p90_ms": round(t.p90_ms, 3), "runs": t.runs,
                             "warmup": t.warmup, "peak_rss_mb": round(t.peak_rss_mb, 1) if t.peak_rss_mb else None,
                             "inference_mb": round(t.inference_mb, 1) if t.inference_mb is not None else None,
                             "extra": dict(it.row.extra)})
                fill_efficiency(row, cpu.peak_gflops(threads))
                if teacher_ms:
                    row.speedup_vs_teacher = round(teacher_ms / t.median_ms, 2)
                rows.append(row)
            del calls
    finally:
        torch.set_num_threads(torch_threads)
    return rows


def peak_formulas(threads: tuple[int, ...]) -> list[str]:
    cpu = describe_cpu()
    return [f"peak at {t} thread(s): {cpu.peak_formula(t)}" for t in threads] + [f"({cpu.assumptions})"]


def sweep_presets(cfg: BenchConfig, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Eager latency vs MACs for registry generator presets (same threads, interleaved)."""
    from mobilegan.models import create_model, list_models

    names = names or list_models("generator", arch="resnet")
    threads = cfg.threads[0]
    models = {n: create_model(n).eval() for n in names}
    calls = {n: eager_call(m, (cfg.size, cfg.size), threads) for n, m in models.items()}
    timings = time_interleaved(calls, runs=cfg.runs, warmup=cfg.warmup, progress=cfg.progress)
    out = []
    for n, m in models.items():
        prof = profile_model(m, cfg.size)
        out.append({"model": n, "params": prof.params, "macs": prof.macs, "macs_compat": prof.macs_compat,
                    "median_ms": round(timings[n].median_ms, 3), "threads": threads, "runtime": "eager-pytorch"})
    return out
