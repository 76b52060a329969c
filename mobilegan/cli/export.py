"""``mobilegan export [CHECKPOINT] --target ... --out DIR``: phone-ready files with proven parity."""

from __future__ import annotations

import argparse

from mobilegan.cli.common import image_size, positive_int, print_json

HELP = "export a generator to ExecuTorch (.pte fp32/int8), ONNX, Core ML, LiteRT (.tflite fp32/int8) with parity checks and model.json"
EXAMPLES = (
    "mobilegan export runs/distill/student.pt --target all --out export/\n"
    "  mobilegan export --target executorch --out export/ --bundled      # latest distilled student\n"
    "  mobilegan export G_AB.pt --target onnx --dynamic-size --out web/\n"
    "  mobilegan export student.pt --target litert --quantize int8 --out android/   # pip install 'mobilegan[litert]'"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help=HELP, description=HELP, epilog=f"examples:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?", help="generator checkpoint (default: the student of the last `mobilegan distill` here)")
    p.add_argument("--target", action="append", required=True, metavar="TARGET",
                   help="executorch, onnx, coreml, executorch-coreml, litert, or all = every one of them that exports "
                        "here, ExecuTorch and LiteRT in fp32 and int8 (repeatable)")
    p.add_argument("--out", help="output folder (model.json and the artifacts; default: export/ next to the checkpoint)")
    p.add_argument("--size", type=image_size, default=256, help="input side in pixels, a multiple of 4 (default 256)")
    p.add_argument("--quantize", choices=("int8",),
                   help="also write int8 ExecuTorch and LiteRT files (PT2E, XNNPACK; implied by --target all)")
    p.add_argument("--calib-data", metavar="DIR", help="images for int8 calibration and parity (default: the "
                   "checkpoint's distillation images, else fixed synthetic images)")
    p.add_argument("--calib-count", type=positive_int, default=16, metavar="N",
                   help="number of int8 calibration images (default 16; PT2E observers are slow at large sizes)")
    p.add_argument("--bundled", action="store_true", help="also write a BundledProgram .bpte with self-test cases")
    p.add_argument("--dynamic-size", action="store_true", help="ONNX: dynamic height/width (multiples of 4)")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip the parity checks (not recommended)")
    p.add_argument("--app", choices=("ios", "android", "web"), help="then install the export into a sample app")
    p.add_argument("--json", action="store_true", help="print model.json instead of a summary")
    from mobilegan.cli import coreml_options

    coreml_options.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.cli import coreml_options
    from mobilegan.export.pipeline import export_model

    targets = [t for value in args.target for t in value.split(",") if t]
    if args.out is None:
        from mobilegan.export.pipeline import resolve_checkpoint

        args.out = str(resolve_checkpoint(args.checkpoint).parent / "export")
    card = export_model(args.checkpoint, targets=targets, out_dir=args.out, size=args.size, quantize=args.quantize,
                        calib_data=args.calib_data, bundled=args.bundled, verify=args.verify,
                        dynamic_size=args.dynamic_size, app=args.app,
                        target_options=coreml_options.options_from_args(args), calib_images=args.calib_count)
    if args.json:
        print_json(card.to_dict())
        return 0
    print(f"{card.name} from {card.source['checkpoint']} at {card.size[0]}x{card.size[1]} -> {args.out}/model.json")
    for a in card.artifacts:
        parity = a.get("parity")
        check = (f"PSNR {parity['psnr_db']:.1f} dB, max abs {parity['max_abs']:.2g}" if parity
                 else f"NOT CHECKED here: {a.get('unchecked') or 'no parity recorded'}")
        deleg = a.get("delegation")
        segs = ""
        if deleg:
            outside = ", ".join(f"{k} x{v}" for k, v in deleg["undelegated_ops"].items()) or "none"
            segs = f"; {deleg['segments']} {deleg['backend']} segment(s), ops outside: {outside}"
        print(f"  {a['file']:32s} {a['target']:10s} {a['precision']:5s} {a['bytes']:>10,} B  {check}{segs}")
        if a.get("bundled"):
            print(f"  {a['bundled']['file']:32s} bundled program with {a['bundled']['test_cases']} test cases")
    return 0
