"""Interleaved ExecuTorch (XNNPACK, fp32) latency of student presets at one size, against the first.

Each preset is exported with the product's own exporter (random weights: latency does not depend on
them), then all programs are timed round-robin in one process at equal threads, so the ratios hold
on a busy machine too. The "Distilling InstanceNorm teachers" latency column of BENCHMARKS.md::

    .venv/bin/python scripts/student_latency.py mobile_s2d4_w025 mobile_s2d4_w025_ctx mobile_s2d4_w025_in mobile_s2d4_w025
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from mobilegan.bench.runtimes import executorch_call, set_executorch_threads
from mobilegan.bench.timing import time_interleaved
from mobilegan.export.executorch import build_program, serialize
from mobilegan.models.registry import create_model

log = logging.getLogger("student_latency")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("presets", nargs="+", help="student presets; the first is the reference (repeat it to see the noise)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=80)
    args = p.parse_args()
    set_executorch_threads(args.threads)  # before any program is loaded
    calls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(args.presets):
            lowered = build_program(create_model(name).eval(), size=(args.size, args.size), precision="fp32")
            path = serialize(lowered, Path(tmp) / f"{i}_{name}.pte")
            log.info("%s: %s", name, lowered.delegation.summary())
            calls[f"{i} {name}"] = executorch_call(path, [1, 3, args.size, args.size])
        timings = time_interleaved(calls, runs=args.runs, warmup=5)
    reference = next(iter(timings.values())).median_ms
    log.info("| student | fp32 .pte median (ms) | vs %s |", args.presets[0])
    for key, t in timings.items():
        log.info("| %s | %.2f | %.3fx |", key.split(" ", 1)[1], t.median_ms, t.median_ms / reference)


if __name__ == "__main__":
    main()
