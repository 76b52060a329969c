"""``mobilegan translate INPUT... --model MODEL --out DIR``: stylise image files of any size."""

from __future__ import annotations

import argparse

from mobilegan.cli.common import image_size, non_negative_int

HELP = "translate image files (any size; large photos tile by tile) with a checkpoint, .pte, .onnx or .tflite"
EXAMPLES = "mobilegan translate photos/ --model runs/distill/student.pt --out styled/\n  mobilegan translate 'shots/*.jpg' --model export/mobile_w025_fp32.pte --out styled/ --tile 256"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help=HELP, description=HELP, epilog=f"examples:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    p.add_argument("--model", required=True, help="generator checkpoint (any supported layout), .pte, .onnx, .tflite or .mlpackage")
    p.add_argument("--out", required=True, help="output folder (never overwrites an input; earlier outputs only with --overwrite)")
    p.add_argument("--tile", type=image_size, default=512, help="tile side for large images (default 512)")
    p.add_argument("--overlap", type=non_negative_int,
                   help="tile overlap in pixels (default: from the model's receptive field, so tiles match a whole-image run)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--size", type=image_size, help="resize the short side to N before translating")
    group.add_argument("--keep-size", action="store_true", default=True, help="output at the input size (default)")
    p.add_argument("--format", choices=["png", "jpg", "webp", "bmp", "tif"], help="output format (default: as the input)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (checkpoints only)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist in --out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.errors import MobileganError
    from mobilegan.inference.tiling import TileConfig
    from mobilegan.inference.translate import TranslateConfig, translate_files

    try:
        tile = TileConfig(tile=args.tile, overlap=args.overlap)
    except ValueError as exc:
        raise MobileganError(str(exc)) from None
    cfg = TranslateConfig(tile=tile, size=args.size, keep_size=True, fmt=args.format, device=args.device,
                          overwrite=args.overwrite)
    result = translate_files(args.inputs, args.model, args.out, cfg)
    print(f"wrote {len(result.written)} image(s) to {args.out}" + (f"; skipped {len(result.skipped)}" if result.skipped else ""))
    for line in result.skipped:
        print(f"  skipped {line}")
    return 0 if result.written else 2
