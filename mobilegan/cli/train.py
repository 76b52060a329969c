"""``mobilegan train``: train a CycleGAN teacher (G_AB, G_BA) on two unpaired image folders."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mobilegan.cli.common import (
    image_size,
    non_negative_float,
    non_negative_int,
    positive_int,
    print_json,
)

if TYPE_CHECKING:
    from mobilegan.train.config import TrainConfig

HELP = "train a CycleGAN teacher (G_AB, G_BA) on unpaired image folders (resumable, torchrun-ready)"
EXAMPLES = """\
  mobilegan train --data-a horses/ --data-b zebras/ --size 256 --epochs 100 --epochs-decay 100 --out runs/h2z
  mobilegan train --data datasets/horse2zebra --out runs/h2z --resume
  mobilegan train --data-a A --data-b B --size 32 --steps 20 --generator resnet_6blocks --ngf 16 --out run
  torchrun --nproc_per_node 2 -m mobilegan train --data datasets/horse2zebra --out runs/h2z"""



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP, epilog=f"examples:\n{EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--data", metavar="ROOT", help="folder with trainA/ and trainB/ (testA/, testB/ for samples)")
    data.add_argument("--data-a", metavar="DIR", help="domain A images (recursive)")
    data.add_argument("--data-b", metavar="DIR", help="domain B images (recursive)")
    data.add_argument("--size", type=image_size, default=256, help="crop side (multiple of 4; default 256)")
    data.add_argument("--load-size", type=positive_int, help="resize side before cropping (default size*286/256)")
    data.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    data.add_argument("--preprocess", choices=("resize_crop", "crop", "none"), default="resize_crop",
                      help="resize_crop (paper), crop (random crop at own scale), none (whole image, padded to x4)")
    data.add_argument("--workers", type=non_negative_int, default=0, help="data loader processes (default 0)")

    model = p.add_argument_group("model and objective")
    model.add_argument("--generator", default="resnet_9blocks", help="generator preset (default resnet_9blocks)")
    model.add_argument("--ngf", type=positive_int, help="override the generator's base width")
    model.add_argument("--n-blocks", type=non_negative_int, help="override the number of residual blocks")
    model.add_argument("--norm", choices=("instance", "batch", "none"),
                       help="normalisation of the generators and discriminators, as the official --norm (default: "
                            "the presets', instance). InstanceNorm cannot see an image's mean colour or contrast: "
                            "use batch or none for styles that change them")
    model.add_argument("--upsample", choices=("transpose", "nearest_conv", "bilinear_conv"),
                       help="generator upsampling (default: the preset's, the paper's transposed conv; nearest_conv "
                            "is PyTorch-GAN's nearest x2 + 3x3 conv, free of the transposed conv's checkerboard)")
    model.add_argument("--global-skip", action="store_true",
                       help="the generator predicts a change that is added to its input (output = clamp(input + "
                            "tanh(head))): structure is kept for free, suited to colour and tone looks")
    model.add_argument("--discriminator", default="patchgan_70", help="discriminator preset (default patchgan_70)")
    model.add_argument("--ndf", type=positive_int, help="override the discriminator's base width")
    model.add_argument("--lambda-cycle", type=non_negative_float, default=10.0, help="cycle L1 weight (default 10)")
    model.add_argument("--lambda-identity", type=non_negative_float, default=0.5,
                       help="identity weight as a fraction of --lambda-cycle (default 0.5)")
    model.add_argument("--no-identity", action="store_true", help="disable the identity loss")
    model.add_argument("--pool-size", type=non_negative_int, default=50, help="fake-image history (default 50)")

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--epochs", type=non_negative_int, default=100, help="epochs at constant lr (default 100)")
    opt.add_argument("--epochs-decay", type=non_negative_int, default=100, help="epochs of linear decay (default 100)")
    opt.add_argument("--steps", type=positive_int, help="train exactly N iterations (lr split in the same ratio)")
    opt.add_argument("--batch-size", type=positive_int, default=1, help="images per domain per step and rank (default 1)")
    opt.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    opt.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    opt.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    opt.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")

    out = p.add_argument_group("output")
    out.add_argument("--out", required=True, help="run folder (G_AB.pt, G_BA.pt, train_state.pt, metrics.jsonl, samples/)")
    out.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    out.add_argument("--sample-every", type=non_negative_int, default=500, help="sample grid every N steps (default 500)")
    out.add_argument("--save-every", type=non_negative_int, default=1000, help="checkpoint every N steps (default 1000)")
    out.add_argument("--log-every", type=positive_int, default=10, help="metrics record every N steps (default 10)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _folders(args: argparse.Namespace) -> tuple[str, str, str | None, str | None]:
    from mobilegan.errors import ConfigError

    if args.data and (args.data_a or args.data_b):
        raise ConfigError("give either --data ROOT or --data-a/--data-b, not both")
    if args.data:
        root = Path(args.data)
        if not root.is_dir():
            raise ConfigError(f"--data {root}: no such folder")
        missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
        if missing:
            raise ConfigError(f"--data {root}: missing {' and '.join(missing)}/ (expected ROOT/trainA, ROOT/trainB)")
        return str(root / "trainA"), str(root / "trainB"), str(root / "testA"), str(root / "testB")
    if not (args.data_a and args.data_b):
        raise ConfigError("train needs --data-a DIR and --data-b DIR (or --data ROOT)")
    return args.data_a, args.data_b, None, None


def _command(args: argparse.Namespace) -> str:
    """The command line as typed when it was ``mobilegan train ...``, else rebuilt from the options."""
    if "train" in sys.argv[1:2] or (len(sys.argv) > 1 and sys.argv[0].endswith("mobilegan") and "train" in sys.argv):
        return shlex.join(["mobilegan", *sys.argv[1:]])
    parts = ["mobilegan", "train"]
    for key, value in sorted(vars(args).items()):
        if key in ("func", "command", "debug", "verbose", "quiet") or value in (None, False):
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return shlex.join(parts)


def config_from_args(args: argparse.Namespace) -> "TrainConfig":
    from mobilegan.train.config import TrainConfig

    data_a, data_b, test_a, test_b = _folders(args)
    return TrainConfig(
        data_a=data_a, data_b=data_b, test_a=test_a, test_b=test_b, out=args.out,
        generator=args.generator, ngf=args.ngf, n_blocks=args.n_blocks, norm=args.norm, upsample=args.upsample,
        global_skip=args.global_skip,
        discriminator=args.discriminator, ndf=args.ndf,
        size=args.size, load_size=args.load_size, flip=not args.no_flip, preprocess=args.preprocess,
        batch_size=args.batch_size, epochs=args.epochs, epochs_decay=args.epochs_decay, steps=args.steps,
        lr=args.lr, lambda_cycle=args.lambda_cycle, lambda_identity=0.0 if args.no_identity else args.lambda_identity,
        pool_size=args.pool_size, seed=args.seed, device=args.device, amp=args.amp, workers=args.workers,
        sample_every=args.sample_every, save_every=args.save_every, log_every=args.log_every,
        resume=args.resume, progress=not args.no_progress,
        command=_command(args),
    )


def run(args: argparse.Namespace) -> int:
    from mobilegan.errors import ConfigError
    from mobilegan.models.registry import get_entry
    from mobilegan.train.runner import train_cyclegan

    cfg = config_from_args(args)
    for name, kind in ((cfg.generator, "generator"), (cfg.discriminator, "discriminator")):
        if get_entry(name).kind != kind:
            raise ConfigError(f"{name!r} is a {get_entry(name).kind}, not a {kind}")
    result = train_cyclegan(cfg)
    if os.environ.get("RANK", "0") != "0":
        return 0
    if args.json:
        print_json(result.to_dict())
    elif result.interrupted:
        again = cfg.command if " --resume" in f"{cfg.command} " else f"{cfg.command} --resume"
        print(f"interrupted at step {result.steps}/{result.total_steps}; continue with: {again}")
    else:
        print(f"trained {result.steps} steps ({result.steady_steps_per_s:.2f} it/s after warm-up) -> {result.g_ab}, {result.g_ba}")
    return 130 if result.interrupted else 0
