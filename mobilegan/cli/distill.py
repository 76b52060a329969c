"""``mobilegan distill --teacher G_AB.pt --data-a DIR``: distill a CycleGAN teacher into a mobile student."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilegan.cli.common import (
    image_size,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    print_json,
)

if TYPE_CHECKING:
    from mobilegan.distill.config import DistillConfig
    from mobilegan.distill.run import DistillResult

HELP = "distill a CycleGAN generator (ours, official or PyTorch-GAN checkpoint) into a small mobile student"
EXAMPLES = """\
  mobilegan distill --teacher runs/teacher/G_AB.pt --data-a photos/
  mobilegan distill --teacher latest_net_G_A.pth --data-a horses/ --data-b zebras/ --lambda-gan 1 --steps 20000
  mobilegan distill --teacher G_AB_200.pth --data-a A/ --target-macs 2.6G --size 256 --out runs/s
  mobilegan distill --teacher G_AB.pt --data-a A/ --width 0.5 --no-depthwise --norm batch --out runs/w50"""




def _count(text: str) -> int:
    from mobilegan.profile import parse_count

    try:
        return parse_count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    from mobilegan.models.config import DEFAULT_STUDENT, NORMS, PADDINGS, SPACE_TO_DEPTH, UPSAMPLES

    p = sub.add_parser("distill", help=HELP, description=HELP, epilog=f"examples:\n{EXAMPLES}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("teacher and data")
    io.add_argument("--teacher", required=True, help="teacher generator checkpoint (any supported layout)")
    io.add_argument("--data-a", required=True, metavar="DIR", help="domain A images (the teacher's inputs)")
    io.add_argument("--data-b", metavar="DIR", help="domain B images: real images for the adversarial term")
    io.add_argument("--eval-data", metavar="DIR", help="held-out A images for the final evaluation "
                    "(default: --holdout images split off --data-a)")
    io.add_argument("--holdout", type=non_negative_int, default=8, help="images of --data-a held out (default 8)")
    io.add_argument("--size", type=image_size, default=256, help="crop side (multiple of 4; default 256)")
    io.add_argument("--preprocess", choices=("resize_crop", "crop"), default="resize_crop",
                    help="resize_crop: resize to --load-size, random crop --size (the paper); crop: random crops "
                         "at the images' own scale (default resize_crop)")
    io.add_argument("--load-size", type=positive_int, help="resize side before cropping (default size*286/256)")
    io.add_argument("--eval-size", type=image_size, help="side the held-out images are scored at (default --size)")
    io.add_argument("--targets", choices=("auto", "crop", "whole"), default="auto",
                    help="where the teacher's targets come from: crop (the teacher sees each training crop), whole "
                         "(the teacher sees the whole image at --eval-size, else --size, computed once; the student "
                         "trains on crops of it, or on whole images when it normalises per image) or auto: whole "
                         "for teachers whose picture depends on the whole image (InstanceNorm, U-Net; with the "
                         "mobile_s2d4_w025_ctx student), crop otherwise (default auto)")
    io.add_argument("--tone-views", type=non_negative_int, default=0, metavar="N",
                    help="whole-image targets: also cache the teacher's output on N recoloured copies of each photo "
                         "(white balance, exposure, saturation), so the student meets colours the photos lack "
                         "(default 0)")
    io.add_argument("--target-cache", metavar="DIR",
                    help="whole-image targets: where the teacher's outputs are cached on disk, memory-mapped and "
                         "resumable (default: RUN/target_cache; one cache serves runs with the same teacher, photos, "
                         "size, seed and --tone-views)")
    io.add_argument("--teacher-batch-stats", choices=("image", "running"), default="image",
                    help="BatchNorm teachers of pytorch-CycleGAN-and-pix2pix (U-Net or ResNet): normalise each image with its own "
                         "statistics, as the official test.py does without --eval (image, the default), or with the "
                         "stored running statistics, as test.py --eval does (running)")
    io.add_argument("--workers", type=non_negative_int, default=0, help="data loader processes (default 0)")

    st = p.add_argument_group("student")
    st.add_argument("--student", help=f"student preset (default {DEFAULT_STUDENT}; see `mobilegan profile --list`)")
    st.add_argument("--width", type=positive_float, help="width multiplier of the preset's ngf")
    st.add_argument("--n-blocks", type=non_negative_int, help="residual blocks")
    st.add_argument("--depthwise", dest="depthwise", action="store_true", default=None, help="depthwise-separable blocks")
    st.add_argument("--no-depthwise", dest="depthwise", action="store_false", help="full 3x3 conv blocks")
    st.add_argument("--norm", choices=NORMS, help="normalisation layer")
    st.add_argument("--padding", choices=PADDINGS, help="block padding")
    st.add_argument("--upsample", choices=UPSAMPLES, help="upsampling layer")
    st.add_argument("--space-to-depth", type=int, choices=SPACE_TO_DEPTH, metavar="S",
                    help="fold SxS pixels into channels before the first conv, unfold after the head "
                         "(1 = off, 2 or 4: no conv at full resolution; the mobile_s2d* presets)")
    st.add_argument("--target-macs", type=_count, metavar="N",
                    help="pick the widest width whose compat MACs at --size fit, e.g. 1.4G")
    st.add_argument("--no-warm-start", action="store_true",
                    help="do not initialise from the teacher by channel selection (only possible for non-depthwise students)")

    lo = p.add_argument_group("losses")
    lo.add_argument("--lambda-recon", type=non_negative_float, default=10.0, help="output L1 weight (default 10)")
    lo.add_argument("--ssim", type=non_negative_float, nargs="?", const=1.0, default=0.0, metavar="W",
                    help="add W * (1 - SSIM) to the output term (W defaults to 1 when the flag is given)")
    lo.add_argument("--tone", type=non_negative_float, default=0.0, metavar="W",
                    help="add W * L1 of the outputs averaged over 8x8 cells (their colour and brightness) to the "
                         "output term (default 0)")
    lo.add_argument("--lambda-feat", type=non_negative_float, default=1.0, help="feature MSE weight (default 1; 0 = off)")
    lo.add_argument("--taps", help="feature taps, e.g. 'down2,block4,up1' or 'block4:block5' (default: down2, 2 blocks, up1)")
    lo.add_argument("--lambda-gan", type=non_negative_float, default=0.0, help="adversarial weight (default 0 = off)")

    op = p.add_argument_group("optimisation")
    op.add_argument("--steps", type=positive_int, default=2000, help="iterations (default 2000)")
    op.add_argument("--batch-size", type=positive_int, default=4, help="images per step and rank (default 4)")
    op.add_argument("--lr", type=positive_float, default=2e-3, help="Adam learning rate (default 2e-3; linear decay over the second half)")
    op.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    op.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    op.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")

    out = p.add_argument_group("output")
    out.add_argument("--out", help="run folder (default: a new runs/distill-<time>/)")
    out.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    out.add_argument("--save-every", type=non_negative_int, default=500, help="checkpoint every N steps (default 500)")
    out.add_argument("--sample-every", type=non_negative_int, default=250, help="sample grid every N steps (default 250)")
    out.add_argument("--log-every", type=positive_int, default=10, help="metrics record every N steps (default 10)")
    out.add_argument("--fid-real", metavar="DIR", help="real domain-B images for FID/KID of the final evaluation")
    out.add_argument("--inception-weights", metavar="PATH", help="your own Inception weights for FID/KID (pytorch-fid or torchvision state dict; default: mobilegan[fid])")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mobilegan.distill.config import DistillConfig
    from mobilegan.distill.evaluate import format_report
    from mobilegan.distill.losses import LossWeights
    from mobilegan.distill.run import distill
    from mobilegan.errors import ConfigError

    if args.resume and not args.out:
        raise ConfigError("--resume needs --out (the run folder to continue)")
    overrides = {"width": args.width, "n_blocks": args.n_blocks, "depthwise": args.depthwise, "norm": args.norm,
                 "padding": args.padding, "upsample": args.upsample, "space_to_depth": args.space_to_depth}
    cfg = DistillConfig(
        teacher=Path(args.teacher), data_a=Path(args.data_a), data_b=Path(args.data_b) if args.data_b else None,
        eval_data=Path(args.eval_data) if args.eval_data else None,
        out_dir=Path(args.out) if args.out else None,
        student=args.student, student_overrides={k: v for k, v in overrides.items() if v is not None},
        target_macs=args.target_macs, size=args.size, load_size=args.load_size, preprocess=args.preprocess, targets=args.targets, teacher_batch_stats=args.teacher_batch_stats,
        eval_size=args.eval_size, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        weights=LossWeights(recon=args.lambda_recon, feat=args.lambda_feat, gan=args.lambda_gan, ssim=args.ssim,
                            tone=args.tone),
        tone_views=args.tone_views, target_cache=Path(args.target_cache) if args.target_cache else None,
        taps=args.taps, warm_start=not args.no_warm_start, seed=args.seed, device=args.device, amp=args.amp,
        resume=args.resume, workers=args.workers, holdout=args.holdout, save_every=args.save_every,
        sample_every=args.sample_every, log_every=args.log_every,
        inception_weights=Path(args.inception_weights) if args.inception_weights else None,
        fid_real=Path(args.fid_real) if args.fid_real else None, progress=not args.no_progress,
    )
    _check_inputs(cfg)
    result = distill(cfg)
    if not result.main_rank:
        return 130 if result.interrupted else 0
    if args.json:
        print_json(_as_json(result))
        return 130 if result.interrupted else 0
    from mobilegan.models.config import generator_config_from_dict

    teacher_config = generator_config_from_dict(result.teacher_config)
    print(f"teacher: {cfg.teacher} ({result.teacher_layout} layout): {teacher_config.summary()}")
    print(result.recipe)
    print(result.student.describe())
    print(result.warm_start.reason)
    print("feature taps: " + (", ".join(f"{s}->{te}" for s, te in result.taps) or "none"))
    print(f"steps {result.start_step}..{result.end_step} in {result.seconds:.1f} s ({result.images_per_s:.1f} images/s)")
    if result.interrupted:
        print(f"interrupted: state saved in {result.out_dir}; continue with --resume --out {result.out_dir}")
    if result.eval is not None:
        print(format_report(result.eval))
        if result.psnr_db_before is not None:
            print(f"  held-out PSNR before distillation: {result.psnr_db_before:.2f} dB")
    print(f"student: {result.student_path}")
    return 130 if result.interrupted else 0


def _check_inputs(cfg: DistillConfig) -> None:
    """Fail before creating any run folder when an input path is wrong."""
    from mobilegan.checkpoints.tf_loader import checkpoint_exists
    from mobilegan.errors import MobileganError

    for flag, path in (("--teacher", cfg.teacher), ("--data-a", cfg.data_a), ("--data-b", cfg.data_b),
                       ("--eval-data", cfg.eval_data), ("--fid-real", cfg.fid_real)):
        if path is not None and not (checkpoint_exists(path) if flag == "--teacher" else Path(path).exists()):
            raise MobileganError(f"{flag} {path}: no such file or folder")


def _as_json(r: DistillResult) -> dict[str, Any]:
    return {
        "out_dir": str(r.out_dir), "student": str(r.student_path), "teacher_layout": r.teacher_layout,
        "teacher_config": r.teacher_config, "student_config": r.student.config.to_dict(),
        "student_profile": r.student.profile.to_dict(), "warm_start": r.warm_start.applied,
        "recipe": r.recipe, "taps": r.taps, "steps": [r.start_step, r.end_step], "interrupted": r.interrupted,
        "seconds": r.seconds, "images_per_s": r.images_per_s, "last_metrics": r.last_metrics,
        "psnr_db_before": r.psnr_db_before,
        "eval": r.eval.to_dict() if r.eval else None,
    }
