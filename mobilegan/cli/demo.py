"""``mobilegan demo``: the whole pipeline on built-in photos, with a report."""

from __future__ import annotations

import argparse

HELP = "run the whole pipeline (teacher -> distill -> export -> verify -> bench -> report) on built-in photos"
EXAMPLES = ("mobilegan demo\n  mobilegan demo --teacher instance    # an InstanceNorm teacher (official layout), as users bring"
            "\n  mobilegan demo --out runs/demo --from-scratch    # also trains the teacher (slow on CPU)")


def register(sub: argparse._SubParsersAction) -> None:
    from mobilegan.cli.common import image_size, positive_int
    from mobilegan.demo.defaults import DISTILL_BATCH, DISTILL_STEPS

    p = sub.add_parser("demo", help=HELP, description=HELP, epilog=f"examples:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="run folder (default runs/demo, runs/demo-instance with --teacher instance); "
                                 "rerun to resume")
    p.add_argument("--teacher", choices=("default", "instance"), default="default",
                   help="shipped teacher: default (norm-none colour grade) or instance (an InstanceNorm pencil-sketch "
                        "teacher saved as an official latest_net_G_A.pth; distill picks whole-image targets and the "
                        "context student for it)")
    p.add_argument("--from-scratch", action="store_true", help="train the teacher first instead of the shipped one")
    p.add_argument("--teacher-steps", type=positive_int,
                   help="from-scratch teacher steps (default: as many as the shipped teacher had)")
    p.add_argument("--distill-steps", type=positive_int, default=DISTILL_STEPS,
                   help=f"distillation steps (default {DISTILL_STEPS})")
    p.add_argument("--distill-batch", type=positive_int, default=DISTILL_BATCH,
                   help=f"64 px crops per distillation step (default {DISTILL_BATCH})")
    p.add_argument("--export-size", type=image_size, default=256, help="side of the exported models (default 256)")
    p.add_argument("--bench-runs", type=positive_int, default=20, help="timed runs per model (default 20)")
    p.add_argument("--quick", action="store_true", help="a fast smoke run (few steps, 64 px export) to check the set-up")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mobilegan.demo.pipeline import DemoConfig, run_demo

    out = Path(args.out or ("runs/demo" if args.teacher == "default" else f"runs/demo-{args.teacher}"))
    if args.quick:
        cfg = DemoConfig(out=out, from_scratch=args.from_scratch, teacher_steps=20, distill_steps=20,
                         distill_batch=4, export_size=64, bench_runs=3, bench_threads=(1,), progress=not args.no_progress,
                         teacher=args.teacher)
    else:
        teacher = {} if args.teacher_steps is None else {"teacher_steps": args.teacher_steps}
        cfg = DemoConfig(out=out, from_scratch=args.from_scratch, **teacher, teacher=args.teacher,
                         distill_steps=args.distill_steps, distill_batch=args.distill_batch,
                         export_size=args.export_size, bench_runs=args.bench_runs,
                         progress=not args.no_progress)
    result = run_demo(cfg)
    scores = result.summary.get("scores", {})
    print(f"demo finished: {result.out}")
    for key in ("identity_vs_truth", "teacher_vs_truth", "student_vs_truth", "student_vs_teacher"):
        if key in scores:
            print(f"  {key.replace('_', ' '):22s} PSNR {scores[key]['psnr_db']:6.2f} dB  SSIM {scores[key]['ssim']:.3f}")
    print(f"  report: {result.report}")
    return 0
