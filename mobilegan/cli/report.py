"""``mobilegan report RUN_DIR``: one self-contained HTML page of a run folder's results."""

from __future__ import annotations

import argparse

HELP = "write a self-contained HTML report (pictures, metrics, parity, latency) of a run folder"
EXAMPLES = ("mobilegan report runs/demo\n  mobilegan report runs/distill-20260101-120000 --out ~/distill.html\n"
            "  mobilegan report . --title \"horse2zebra student\"")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help=HELP, description=HELP + ". It looks a few folders deep for training and "
                       "distillation logs (metrics.jsonl, samples/), eval.json, export folders (model.json), "
                       "benchmark JSON files and demo.json.", epilog=f"examples:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="folder with the outputs of train, distill, export, bench or demo")
    p.add_argument("--out", help="where to write the report (default: RUN_DIR/report.html)")
    p.add_argument("--title", help="page title (default: the demo's title or the folder name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.report import build_report

    path = build_report(args.run_dir, out=args.out, title=args.title)
    print(f"report: {path}")
    return 0
