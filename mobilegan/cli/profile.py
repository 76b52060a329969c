"""``mobilegan profile NAME_OR_CHECKPOINT``: parameters and MACs."""

from __future__ import annotations

import argparse

from mobilegan.cli.common import image_size, print_json

HELP = "count parameters and MACs (real and paper-compatible) of a model or checkpoint"
EXAMPLES = "mobilegan profile resnet_9blocks --size 256\n  mobilegan profile runs/distill/student.pt --json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help=HELP, description=HELP, epilog=f"example:\n  {EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="registry name (see `mobilegan profile --list`) or checkpoint path", nargs="?")
    p.add_argument("--size", type=image_size, default=256, help="input side in pixels (multiple of 4; default 256)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--layers", action="store_true", help="print a per-layer table")
    p.add_argument("--list", action="store_true", help="list registry models and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.checkpoints.resolve import model_from_name_or_path
    from mobilegan.errors import MobileganError
    from mobilegan.models.registry import get_entry, list_models
    from mobilegan.profile import format_count, layer_table, profile_model, receptive_field

    if args.list:
        for name in list_models():
            print(f"{name:18s} {get_entry(name).description}")
        return 0
    if not args.model:
        raise MobileganError("profile needs a model name or checkpoint path (or --list)")
    model, desc = model_from_name_or_path(args.model)
    prof = profile_model(model, args.size)
    config = getattr(model, "config", None)
    rf = receptive_field(model)
    if args.json:
        extra = {"config": config.to_dict()} if config is not None else {}
        print_json({"model": args.model, **extra, "receptive_field": rf, **prof.to_dict(layers=args.layers)})
        return 0
    if args.layers:
        print(layer_table(prof))
    print(f"{desc} at {args.size}x{args.size}")
    if config is not None and hasattr(config, "channels"):  # a generator: the effective widths, not just ngf
        s2d = getattr(config, "space_to_depth", 1)
        widths = "/".join(str(config.channels(m)) for m in (1, 2, 4) if m >= s2d)  # stages space-to-depth keeps
        fold = f", space-to-depth {s2d} (no conv at full resolution)" if s2d > 1 else ""
        print(f"  config       ngf {config.ngf} x width {config.width} -> stage widths {widths}, {config.n_blocks} "
              f"{'depthwise ' if config.depthwise else ''}blocks, norm {config.norm}, padding {config.padding}, "
              f"upsample {config.upsample}, dropout {config.dropout}{fold}")
    if config is not None and getattr(config, "arch", None) == "unet":
        widths = "/".join(str(config.level_channels(k)) for k in range(1, config.num_downs + 1))
        print(f"  config       U-Net ({config.layout} layout), {config.num_downs} levels, widths {widths}, "
              f"norm {config.norm}; "
              f"input sides must be multiples of {config.size_multiple}")
    if config is not None and not getattr(config, "local", True):
        print(f"  receptive field {rf} px; the picture depends on the whole image (translate runs it whole)")
    else:
        print(f"  receptive field {rf} px (translate's tile overlap follows it)")
    print(f"  params       {prof.params:>16,}  ({format_count(prof.params)})")
    print(f"  MACs (real)  {prof.macs:>16,}  ({format_count(prof.macs)})")
    print(f"  MACs (compat){prof.macs_compat:>16,}  ({format_count(prof.macs_compat)}; transposed convs charged per output pixel, as GAN-compression papers count)")
    return 0
