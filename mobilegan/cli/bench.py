"""``mobilegan bench``: latency, memory, size and efficiency, host and phones side by side."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mobilegan.bench.core import BenchConfig

HELP = "benchmark exported models and checkpoints (host), merge phone results, plot the trade-offs"
EXAMPLES = """mobilegan bench export/ --teacher runs/teacher/G_AB.pt --threads 1,2 --json bench.json --plot bench.png
  mobilegan bench export/ --import pixel8a.json --plot bench.png
  mobilegan bench --sweep --size 256 --plot sweep.png
  mobilegan bench --sweep --fidelity --teacher mobilegan/demo/assets/demo_teacher.pt --steps 2000 --threads 2 \
      --work runs/front --json front.json --plot front.png"""


def _threads(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads wants a list like 1,2 (got {text!r})") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--threads wants positive integers (got {text!r})")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    from mobilegan.cli.common import image_size, non_negative_int, positive_int

    p = sub.add_parser("bench", help=HELP, description=HELP, epilog=f"examples:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", help="export folders (with model.json) and/or generator checkpoints")
    p.add_argument("--teacher", help="teacher checkpoint: adds its eager row and speed-ups against it")
    p.add_argument("--size", type=image_size, default=256, help="input side for checkpoints (default 256)")
    p.add_argument("--threads", type=_threads, default=(1, 2), help="thread counts, e.g. 1,2 (default 1,2)")
    p.add_argument("--runs", type=positive_int, default=50, help="timed runs per model (default 50)")
    p.add_argument("--warmup", type=non_negative_int, default=5, help="warm-up runs (default 5)")
    p.add_argument("--json", dest="json_out", help="write results (schema mobilegan.bench/1)")
    p.add_argument("--plot", help="write latency / speed-up bars (PNG); with --sweep the latency-vs-MACs scatter")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="FILE.json",
                   help="merge results measured on a phone (sample app benchmark mode or bench/device scripts)")
    p.add_argument("--sweep", action="store_true", help="latency vs MACs across the registry presets (eager)")
    fr = p.add_argument_group("latency-fidelity front (--sweep --fidelity)")
    fr.add_argument("--fidelity", action="store_true",
                    help="with --sweep: distill every candidate from --teacher on the demo data with one budget, "
                         "then ExecuTorch latency (largest --threads) vs PSNR against the teacher, front marked")
    fr.add_argument("--steps", type=positive_int, default=2000, help="distillation steps per candidate (default 2000)")
    fr.add_argument("--candidates", help="comma-separated preset[:field=value...] (default: the built-in list)")
    fr.add_argument("--work", default="runs/front", help="folder for the candidates' runs and programs (default runs/front)")
    fr.add_argument("--no-int8", action="store_true", help="fp32 programs only")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.bench.core import BenchConfig, peak_formulas, run_bench, sweep_presets
    from mobilegan.bench.machine import describe_machine
    from mobilegan.bench.plot import plot_latency, plot_sweep
    from mobilegan.bench.results import Row, format_table, import_results, write_results
    from mobilegan.bench.roofline import roofline_table
    from mobilegan.errors import MobileganError

    cfg = BenchConfig(size=args.size, threads=args.threads, runs=args.runs, warmup=args.warmup,
                      progress=not args.no_progress)
    machine = describe_machine()
    if args.fidelity:
        if not args.sweep or not args.teacher:
            raise MobileganError("--fidelity goes with --sweep and needs --teacher")
        return _run_front(args, cfg, machine)
    if args.sweep:
        points = sweep_presets(cfg)
        for pt in points:
            print(f"{pt['model']:16s} {pt['macs_compat'] / 1e9:8.2f} G MACs (compat)  {pt['median_ms']:9.2f} ms")
        if args.plot:
            plot_sweep(points, args.plot, f"eager PyTorch, {cfg.threads[0]} thread(s), {cfg.size}px, {machine['device']}")
            print(f"plot: {args.plot}")
        if args.json_out:
            rows = [Row(model=str(p["model"]), runtime="eager-pytorch", precision="fp32", threads=int(p["threads"]),
                        size=cfg.size, median_ms=float(p["median_ms"]), p10_ms=float(p["median_ms"]),
                        p90_ms=float(p["median_ms"]), runs=cfg.runs, params=int(p["params"]), macs=int(p["macs"]),
                        macs_compat=int(p["macs_compat"])) for p in points]
            write_results(args.json_out, machine, rows, {"kind": "sweep"})
        return 0
    if not args.models and not args.imports:
        raise MobileganError("give export folders or checkpoints to benchmark (or --import / --sweep)")
    rows: list[Row] = run_bench(args.models, cfg, teacher=args.teacher) if args.models else []
    for path in args.imports:
        _, imported = import_results(path)
        rows += imported
    print(format_table(rows))
    print()
    for line in peak_formulas(cfg.threads):
        print(line)
    student = next((r for r in rows if r.macs and not r.model.startswith("teacher:")), None)
    if student is not None:
        print(f"\nroofline ESTIMATES for {student.model} ({student.macs / 1e9:.2f} G real MACs), not measurements:")
        for est in roofline_table(student.macs):
            print(f"  {est['phone']:42s} {est['engine']:32s} >= {est['bound_ms']:8.2f} ms at peak, "
                  f"~{est['at_30pct_ms']:.1f} ms at 30% ({est['formula']})")
    if args.json_out:
        extra = {"roofline_estimates": roofline_table(student.macs) if student else [], "peak": peak_formulas(cfg.threads)}
        write_results(args.json_out, machine, rows, extra)
        print(f"json: {args.json_out}")
    if args.plot:
        plot_latency(rows, args.plot, f"median latency ({machine['device']})")
        print(f"plot: {args.plot}")
    return 0


def _run_front(args: argparse.Namespace, cfg: BenchConfig, machine: dict[str, Any]) -> int:
    """``--sweep --fidelity``: the latency-fidelity front (:mod:`mobilegan.bench.front`)."""
    from pathlib import Path

    from mobilegan.bench.front import (
        DEFAULT_CANDIDATES,
        FrontConfig,
        format_front,
        front_document,
        measure_candidates,
        parse_candidate,
    )
    from mobilegan.bench.plot import plot_front
    from mobilegan.utils.atomic import atomic_write_text

    candidates = (tuple(parse_candidate(c) for c in args.candidates.split(",") if c.strip()) if args.candidates
                  else DEFAULT_CANDIDATES)
    front = FrontConfig(teacher=Path(args.teacher), work_dir=Path(args.work), candidates=candidates, steps=args.steps,
                        size=cfg.size, threads=max(cfg.threads), runs=cfg.runs, warmup=cfg.warmup,
                        int8=not args.no_int8, progress=cfg.progress)
    points, info = measure_candidates(front)
    paper = (f"; paper teacher {info['paper_teacher']} (random weights) {info['paper_teacher_eager_ms']:.1f} ms"
             if info.get("paper_teacher_eager_ms") else "")
    print(f"teacher {args.teacher}: eager PyTorch {info['teacher_eager_ms']:.1f} ms at {front.size} px, "
          f"{front.threads} thread(s){paper}")
    print(format_front(points))
    doc = front_document(front, points, info, machine)
    if args.json_out:
        import json

        atomic_write_text(args.json_out, json.dumps(doc, indent=2) + "\n")
        print(f"json: {args.json_out}")
    if args.plot:
        plot_front(points, args.plot, f"{front.steps} distill steps per candidate, {front.size} px, {front.threads} "
                   f"thread(s), teacher eager {info['teacher_eager_ms']:.0f} ms ({machine['device']})")
        print(f"plot: {args.plot}")
    return 0
