"""Host latency of an export folder's artifacts vs eager PyTorch, at one thread count.

    python -m mobilegan.export.latency EXPORT_DIR --checkpoint G.pt --threads 2 --runs 10

Medians of ``runs`` timed calls after ``warmup`` untimed ones, batch 1, at the card's size.
ExecuTorch's threadpool ignores ``torch.set_num_threads`` (DESIGN.md section 3): it is reset
to ``threads`` before any program is loaded; onnxruntime gets ``intra_op_num_threads``.
Numbers for docs/benchmarks/export.md; the benchmark suites proper live in ``bench/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from mobilegan.checkpoints import load_generator
from mobilegan.export.model_card import read_card
from mobilegan.export.wrap import wrap_for_export


def median_ms(fn: Callable[[], Any], *, runs: int, warmup: int, label: str) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in tqdm(range(runs), desc=label, unit="run", leave=False):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(folder: Path, checkpoint: Path, *, threads: int, runs: int, warmup: int = 2) -> dict[str, Any]:
    from executorch.extension.pybindings import portable_lib

    portable_lib._unsafe_reset_threadpool(threads)  # before any program is loaded
    torch.set_num_threads(threads)
    card = read_card(folder)
    x = torch.rand(1, 3, *card.size, generator=torch.Generator().manual_seed(0))
    eager = wrap_for_export(load_generator(checkpoint))
    rows: dict[str, Any] = {}
    with torch.no_grad():
        rows["eager"] = {"ms": median_ms(lambda: eager(x), runs=runs, warmup=warmup, label="eager"), "bytes": None}
    for art in card.artifacts:
        path = folder / art["file"]
        if art["target"] == "executorch":
            from executorch.runtime import Runtime

            method = Runtime.get().load_program(path).load_method("forward")
            fn = lambda m=method: m.execute([x])  # noqa: E731
        elif art["target"] == "onnx":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            fn = lambda s=session: s.run(None, {"image": x.numpy()})  # noqa: E731
        else:
            continue
        rows[art["file"]] = {"ms": median_ms(fn, runs=runs, warmup=warmup, label=art["file"]), "bytes": art["bytes"],
                             "segments": (art.get("delegation") or {}).get("segments")}
    return {"threads": threads, "runs": runs, "size": list(card.size), "name": card.name, "results": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.folder, args.checkpoint, threads=args.threads, runs=args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
