"""``mobilegan eval --teacher T --student S --data DIR``: how closely a student reproduces its teacher."""

from __future__ import annotations

import argparse
from pathlib import Path

from mobilegan.cli.common import image_size, positive_int, print_json

HELP = "score a student against its teacher: PSNR/SSIM, MACs/params ratio, image grid (FID/KID against real images with --fid-real)"
EXAMPLES = """\
  mobilegan eval --teacher G_AB.pt --student runs/distill/student.pt --data photos_test/
  mobilegan eval --teacher G_AB.pt --student student.pt --data testA/ --fid-real testB/"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP, epilog=f"examples:\n{EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", required=True, help="teacher generator checkpoint (any supported layout)")
    p.add_argument("--student", required=True, help="student generator checkpoint")
    p.add_argument("--data", required=True, metavar="DIR", help="domain A images to translate with both")
    p.add_argument("--size", type=image_size, default=256, help="images are resized to N x N (multiple of 4; default 256)")
    p.add_argument("--limit", type=positive_int, help="use at most N images")
    p.add_argument("--fid-real", metavar="DIR", help="real domain-B images: adds FID/KID (standard FID Inception weights from mobilegan[fid])")
    p.add_argument("--inception-weights", metavar="PATH", help="your own Inception weights instead: pytorch-fid pt_inception-*.pth or a torchvision inception_v3 state dict")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--out", help="folder for eval.json and eval_grid.png (default: a new runs/eval-<time>/)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.distill.evaluate import evaluate_checkpoints, format_report
    from mobilegan.checkpoints.tf_loader import checkpoint_exists
    from mobilegan.errors import MobileganError
    from mobilegan.runs import new_run_dir
    from mobilegan.train import resolve_device

    for flag, value in (("--teacher", args.teacher), ("--student", args.student), ("--data", args.data),
                        ("--fid-real", args.fid_real), ("--inception-weights", args.inception_weights)):
        if value is not None and not (checkpoint_exists(value) if flag == "--teacher" else Path(value).exists()):
            raise MobileganError(f"{flag} {value}: no such file or folder")
    device = resolve_device(args.device)
    out_dir = Path(args.out) if args.out else new_run_dir("eval")
    report, paths = evaluate_checkpoints(
        teacher=Path(args.teacher), student=Path(args.student), data=Path(args.data), size=args.size,
        out_dir=out_dir, limit=args.limit, device=str(device),
        fid_real=Path(args.fid_real) if args.fid_real else None,
        inception_weights=Path(args.inception_weights) if args.inception_weights else None,
    )
    if args.json:
        print_json({**report.to_dict(), "files": [str(p) for p in paths]})
        return 0
    print(format_report(report))
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0
