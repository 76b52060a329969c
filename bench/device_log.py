"""Turn ExecuTorch ``executor_runner`` logs from a phone into ``mobilegan.bench/1`` JSON.

``bench/device/android.sh`` runs the runner B times with ``-num_executions K`` and saves each
log. Every log line ``Model executed successfully K time(s) in T ms.`` gives one sample of
T / K ms (the mean of K back-to-back runs in one process; model loading is not included).
Median / p10 / p90 are taken over the B samples.

    python -m mobilegan.bench.device_log --device "Pixel 8a" --os "Android 15" \
        --model mobile_w025 --precision fp32 --threads 4 --size 256 logs/*.txt > pixel8a.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from mobilegan.bench.results import SCHEMA, Row
from mobilegan.bench.timing import summarize
from mobilegan.errors import MobileganError

_LINE = re.compile(r"Model executed successfully\s+(\d+)\s+time\(s\)\s+in\s+([\d.]+)\s*ms")


def parse_runner_logs(texts: list[str]) -> list[float]:
    """Per-inference milliseconds, one sample per log line found."""
    samples = []
    for text in texts:
        for m in _LINE.finditer(text):
            count, total = int(m[1]), float(m[2])
            if count > 0:
                samples.append(total / count)
    if not samples:
        raise MobileganError("no 'Model executed successfully N time(s) in T ms' line in the runner logs")
    return samples


def logs_to_results(texts: list[str], *, device: str, os_name: str, model: str, precision: str, threads: int,
                    size: int, runtime: str = "executorch-xnnpack") -> dict:
    samples = parse_runner_logs(texts)
    t = summarize(samples, warmup=0)
    row = Row(model=model, runtime=runtime, precision=precision, threads=threads, size=size,
              median_ms=round(t.median_ms, 3), p10_ms=round(t.p10_ms, 3), p90_ms=round(t.p90_ms, 3),
              runs=t.runs, source="device", device=device,
              extra={"method": "executor_runner, mean of -num_executions per process"})
    return {"schema": SCHEMA, "machine": {"device": device, "os": os_name}, "rows": [row.to_dict()]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobilegan.bench.device_log", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+")
    p.add_argument("--device", required=True)
    p.add_argument("--os", dest="os_name", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--precision", default="fp32", choices=["fp32", "int8", "fp16"])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--size", type=int, default=256)
    args = p.parse_args(argv)
    try:
        texts = [Path(f).read_text(errors="replace") for f in args.logs]
        doc = logs_to_results(texts, device=args.device, os_name=args.os_name, model=args.model,
                              precision=args.precision, threads=args.threads, size=args.size)
    except (OSError, MobileganError) as exc:
        sys.stderr.write(f"device_log: error: {exc}\n")
        return 2
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
