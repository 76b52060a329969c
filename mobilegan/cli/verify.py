"""``mobilegan verify DIR``: re-run parity and hash checks for every artifact in DIR/model.json."""

from __future__ import annotations

import argparse

from mobilegan.cli.common import print_json

HELP = "re-check an export folder: sha256 of every artifact and parity against its self-test vectors"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help=HELP, description=HELP,
                       epilog="example:\n  mobilegan verify export/", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="export folder holding model.json")
    p.add_argument("--update", action="store_true", help="write the fresh parity numbers into model.json")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.errors import MobileganError
    from mobilegan.export.verify import verify_export

    report = verify_export(args.folder, update=args.update)
    if args.json:
        print_json(report.to_dict())
    else:
        for c in report.checks:
            print(f"  {c.status:7s} {c.file:32s} {c.target:10s} {c.precision:5s} {c.detail}")
    if not report.ok:
        names = ", ".join(c.file for c in report.failed)
        raise MobileganError(f"{len(report.failed)} artifact(s) failed verification: {names}")
    if not args.json:
        print(f"{args.folder}: all runnable artifacts verified" + (" (model.json updated)" if report.updated else ""))
    return 0
