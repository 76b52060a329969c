"""How a student's ExecuTorch fp32 latency grows from 256 px to a camera frame (issue 16, goal 4).

    .venv/bin/python scripts/resolution_scaling.py runs/front-1000/mobile_s2d4_w025/student.pt --sizes 256 512

Lowers the checkpoint to one XNNPACK program per size, then times them interleaved in one process
(same threads), so the ratio holds even when the machine is not idle. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from bench.runtimes import executorch_call, set_executorch_threads
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.export.executorch import build_program, serialize
from tqdm import tqdm

log = logging.getLogger("resolution_scaling")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = load_generator_checkpoint(args.checkpoint).model.eval()
    set_executorch_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        calls = {}
        for size in args.sizes:
            lowered = build_program(model, size=(size, size), precision="fp32")
            path = serialize(lowered, Path(tmp) / f"s{size}.pte")
            calls[size] = executorch_call(path, [1, 3, size, size])
            calls[size]()  # warm-up
        times: dict[int, list[float]] = {s: [] for s in args.sizes}
        for _ in tqdm(range(args.runs), desc="interleaved rounds", unit="round"):
            for size, call in calls.items():
                t0 = time.perf_counter()
                call()
                times[size].append((time.perf_counter() - t0) * 1000)
    med = {s: round(statistics.median(v), 2) for s, v in times.items()}
    base = med[args.sizes[0]]
    log.info(json.dumps({"checkpoint": str(args.checkpoint), "threads": args.threads, "runs": args.runs,
                         "median_ms": med, "ratio_vs_first": {s: round(m / base, 2) for s, m in med.items()}}))


if __name__ == "__main__":
    main()
