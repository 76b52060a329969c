"""Interleaved ExecuTorch (XNNPACK, fp32 and int8) latency of student presets at one size, against the first.

Each preset is exported with the product's own exporter (random weights: latency does not depend on
them), then all programs are timed round-robin in one process at equal threads, so the ratios hold
on a busy machine too. The "Distilling InstanceNorm teachers" latency column of BENCHMARKS.md::

    .venv/bin/python scripts/student_latency.py mobile_s2d4_w025 mobile_s2d4_w025_ctx mobile_s2d4_w025_in mobile_s2d4_w025

``--precisions fp32,int8`` adds each preset's int8 program (calibrated on random images: the ranges
change the numbers, not the ops or the time) to the same round-robin; ratios are against the first
preset's program of the same precision. A preset may carry config overrides after a colon, e.g.
``mobile_s2d4_w025_ctx:width=0.5`` (the wider students of BENCHMARKS.md "Real photos").
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import torch

from mobilegan.bench.runtimes import executorch_call, set_executorch_threads
from mobilegan.bench.timing import time_interleaved
from mobilegan.export.executorch import build_program, serialize
from mobilegan.models.registry import create_model

log = logging.getLogger("student_latency")


def parse_student(spec: str) -> tuple[str, dict[str, Any]]:
    """``name[:key=value,...]`` -> (preset name, config overrides); values are read as JSON numbers or
    booleans where they parse, else kept as strings."""
    name, _, rest = spec.partition(":")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"bad override {item!r} in {spec!r}: use key=value")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("presets", nargs="+", help="student presets; the first is the reference (repeat it to see the noise)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=80)
    p.add_argument("--precisions", default="fp32", help="comma-separated: fp32, int8 (default fp32)")
    args = p.parse_args()
    precisions = [x.strip() for x in args.precisions.split(",") if x.strip()]
    calib = torch.rand(4, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    set_executorch_threads(args.threads)  # before any program is loaded
    calls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(args.presets):
            preset, overrides = parse_student(name)
            for precision in precisions:
                lowered = build_program(create_model(preset, **overrides).eval(), size=(args.size, args.size),
                                        precision=precision, calib=calib if precision == "int8" else None)
                path = serialize(lowered, Path(tmp) / f"{i}_{preset}_{precision}.pte")
                log.info("%s %s: %s", name, precision, lowered.delegation.summary())
                calls[f"{i} {precision} {name}"] = executorch_call(path, [1, 3, args.size, args.size])
        timings = time_interleaved(calls, runs=args.runs, warmup=5)
    log.info("| student | precision | .pte median (ms) | vs %s |", args.presets[0])
    for precision in precisions:
        rows = {key: t for key, t in timings.items() if key.split(" ", 2)[1] == precision}
        reference = next(iter(rows.values())).median_ms
        for key, t in rows.items():
            log.info("| %s | %s | %.2f | %.3fx |", key.split(" ", 2)[2], precision, t.median_ms, t.median_ms / reference)


if __name__ == "__main__":
    main()
