"""``distill(config)``: the whole ``mobilegan distill`` pipeline as one library call.

teacher (any supported checkpoint) -> student choice (preset / overrides / MAC budget) ->
warm start -> shared training loop with :class:`DistillTask` -> ``student.pt`` ->
evaluation on held-out images (``eval.json`` + grid) -> ``runs/latest.json`` record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from mobilegan.checkpoints import LoadedGenerator, load_generator_checkpoint
from mobilegan.data import ImageDataset
from mobilegan.distill.config import DistillConfig
from mobilegan.distill.data import DistillData, held_out_images, prepare_data
from mobilegan.distill.evaluate import (
    EvalReport,
    evaluate_pair,
    generalisation_gap,
    generate,
    score_training_images,
    write_eval,
)
from mobilegan.distill.recipe import plan_recipe
from mobilegan.distill.student import StudentChoice, choose_student
from mobilegan.distill.target_cache import TargetCache, build_cache, teacher_fingerprint
from mobilegan.distill.targets import TargetPlan, WholeImageTargets
from mobilegan.distill.task import STUDENT_FILE, DistillTask
from mobilegan.distill.taps import FeatureAdapters, default_taps, parse_taps
from mobilegan.distill.warm_start import WarmStartReport, warm_start_from_teacher
from mobilegan.errors import ConfigError
from mobilegan.metrics import psnr
from mobilegan.metrics.inception import InceptionUnavailable, find_inception_weights
from mobilegan.models.config import GeneratorConfig
from mobilegan.models.generator import ResnetGenerator
from mobilegan.models.unet_config import UnetConfig
from mobilegan.models.registry import build_model, create_model
from mobilegan.runs import new_run_dir, record_latest_student
from mobilegan.train import (
    STATE_FILE,
    DistContext,
    barrier,
    LoopConfig,
    load_training_state,
    run_loop,
    seed_everything,
    setup_distributed,
    teardown_distributed,
)

log = logging.getLogger(__name__)

SAMPLE_ROWS = 4
DISCRIMINATOR = "patchgan_70"
TARGET_CACHE = "target_cache"  # the run folder's teacher-target cache (target_cache.py)


@dataclass
class DistillResult:
    out_dir: Path
    student_path: Path
    teacher_layout: str
    teacher_config: dict[str, Any]
    student: StudentChoice
    warm_start: WarmStartReport
    taps: list[tuple[str, str]]
    start_step: int
    end_step: int
    interrupted: bool
    seconds: float
    images_per_s: float
    last_metrics: dict[str, float]
    psnr_db_before: float | None = None  # held-out PSNR of the initial (warm-started) student
    eval: EvalReport | None = None
    eval_paths: list[Path] = field(default_factory=list)
    main_rank: bool = True  # False on torchrun ranks other than 0 (they write and print nothing)
    recipe: str = ""  # the student and target scheme chosen for this teacher (distill.recipe)


def _load_teacher(path: Path, batch_stats: str) -> LoadedGenerator:
    loaded = load_generator_checkpoint(path, batch_stats=batch_stats)
    log.info("teacher %s: %s layout, config %s", path, loaded.layout, loaded.config.to_dict())
    return loaded


def _resume_state(cfg: DistillConfig) -> dict[str, Any] | None:
    assert cfg.out_dir is not None
    state_path = cfg.out_dir / STATE_FILE
    if not cfg.resume:
        if state_path.exists():
            raise ConfigError(f"{cfg.out_dir} already holds a distillation run ({STATE_FILE}); "
                              "pass --resume to continue it or choose another --out")
        return None
    if not state_path.exists():
        if (cfg.target_cache or cfg.out_dir / TARGET_CACHE).is_dir():  # stopped while caching the teacher's targets
            log.info("--resume: no training step was saved yet; finishing the teacher's targets, then step 0")
            return None
        raise ConfigError(f"--resume: no {STATE_FILE} in {cfg.out_dir}")
    state, saved = load_training_state(state_path)
    wanted = cfg.run_identity()
    # A setting missing from the saved run was added later (e.g. preprocess): the run used its default.
    saved = {**{f.name: f.default for f in fields(DistillConfig) if f.name in wanted}, **saved}
    diff = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if diff:
        raise ConfigError(f"--resume: settings differ from the saved run ({', '.join(diff)}); "
                          "use the original arguments or a new --out")
    log.info("resuming from step %d of %d", state["step"], cfg.steps)
    return state


def _name(path: Path, folder: Path) -> str:
    """How a held-out image is named in eval.json: relative to its folder when it lies in it."""
    try:
        return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    except ValueError:
        return Path(path).name


def _fid_real(cfg: DistillConfig) -> torch.Tensor | None:
    if cfg.fid_real is None:
        return None
    from mobilegan.data import AugmentConfig, ImageDataset

    real = ImageDataset.from_folder(cfg.fid_real, AugmentConfig(size=cfg.size), name="fid_real", shuffle=False)
    return held_out_images(real)


def _initial_psnr(teacher: torch.nn.Module, student: torch.nn.Module, data: DistillData,
                  device: torch.device) -> float:
    """Held-out PSNR of the untrained student (eval mode), the baseline the final score is compared with."""
    images = held_out_images(data.held_out)
    student.to(device)
    value = float(psnr(generate(student, images, device=device), generate(teacher, images, device=device)).mean())
    log.info("held-out PSNR before distillation: %.2f dB", value)
    return value


def whole_image_targets(data: DistillData, teacher: torch.nn.Module, plan: TargetPlan, cfg: DistillConfig,
                        ctx: DistContext) -> WholeImageTargets:
    """The training images with the teacher's whole-image outputs, cached on disk once (targets.py)."""
    assert isinstance(data.train, ImageDataset)  # whole-image targets never pair A with B
    assert cfg.out_dir is not None
    folder = cfg.target_cache or cfg.out_dir / TARGET_CACHE
    teacher_id = teacher_fingerprint(teacher, extra=f"batch_stats={cfg.teacher_batch_stats}")
    cache = TargetCache(folder, data.train.files, side=plan.side, tone_views=cfg.tone_views, seed=cfg.seed,
                        teacher_id=teacher_id)
    build_cache(cache, teacher.to(ctx.device), ctx.device, progress=cfg.progress, rank=ctx.rank,
                world_size=ctx.world_size, barrier=lambda: barrier(ctx))
    return WholeImageTargets(cache, crop=plan.crop, seed=cfg.seed, with_whole=plan.crop < plan.side,
                             align=plan.align)


def student_overrides(cfg: DistillConfig, teacher_config: GeneratorConfig | UnetConfig) -> dict[str, Any]:
    """The student's field overrides; it inherits the teacher's global skip unless told otherwise.

    A teacher with a global skip outputs ``input + change``; a student without one would have to
    learn to rebuild every input pixel through its bottleneck, which is where its fidelity goes.
    """
    overrides = dict(cfg.student_overrides)
    if teacher_config.global_skip and "global_skip" not in overrides:
        log.info("the teacher adds its output to its input (global skip): so does the student")
        overrides["global_skip"] = True
    return overrides


def distill(cfg: DistillConfig) -> DistillResult:
    """Distill ``cfg.teacher`` into a student; see :class:`DistillConfig` for every setting."""
    if cfg.resume and cfg.out_dir is None:
        raise ConfigError("--resume needs --out (the run folder to continue)")
    if cfg.fid_real is not None:  # fail (or warn) now, not after the whole training run
        try:
            find_inception_weights(cfg.inception_weights)
        except InceptionUnavailable as exc:
            log.warning("%s", exc)
    elif cfg.inception_weights is not None:
        log.warning("--inception-weights is only used with --fid-real (FID/KID of the final evaluation); ignoring it")
    ctx = setup_distributed(cfg.device)
    try:
        if ctx.distributed and cfg.out_dir is None:
            raise ConfigError("under torchrun pass --out, so that every rank uses the same run folder")
        seed_everything(cfg.seed)
        teacher = _load_teacher(cfg.teacher, cfg.teacher_batch_stats)
        recipe = plan_recipe(teacher.config, student=cfg.student, student_overrides=cfg.student_overrides,
                             targets=cfg.targets, size=cfg.size, eval_size=cfg.eval_size, batch_size=cfg.batch_size)
        recipe_line = recipe.describe()
        log.info("%s", recipe_line)
        cfg = replace(cfg, batch_size=recipe.batch_size)
        choice = choose_student(name=recipe.student, overrides=student_overrides(cfg, teacher.config),
                                target_macs=cfg.target_macs, size=recipe.targets.crop)
        log.info("%s", choice.describe())
        student = build_model(choice.config)
        assert isinstance(student, ResnetGenerator)
        warm = (warm_start_from_teacher(student, teacher.model) if cfg.warm_start
                else WarmStartReport(False, "warm start off"))
        if cfg.weights.feat == 0:
            taps = []
        elif not recipe.use_taps:
            if cfg.taps and parse_taps(cfg.taps, student, teacher.model):  # a wrong spec is still an error
                log.warning("--taps ignored: whole-image targets are cached outputs, without the teacher's features "
                            "(--targets crop keeps them)")
            taps = []
        elif cfg.taps is None:
            taps = default_taps(student, teacher.model)
        else:
            taps = parse_taps(cfg.taps, student, teacher.model)
        log.info("feature taps (student -> teacher): %s",
                 ", ".join(f"{t.student}->{t.teacher}" for t in taps) or "none")
        disc = create_model(DISCRIMINATOR) if cfg.weights.gan > 0 else None
        whole = recipe.targets.kind == "whole"
        if whole and cfg.eval_size is None:  # score at the side the student learnt the teacher's whole images at
            cfg = replace(cfg, eval_size=recipe.targets.side)
        data: DistillData = prepare_data(data_a=cfg.data_a, data_b=cfg.data_b, eval_data=cfg.eval_data,
                                         size=cfg.size, holdout=cfg.holdout, seed=cfg.seed,
                                         use_b=disc is not None and not whole,
                                         load_size=cfg.load_size, preprocess=cfg.preprocess, eval_size=cfg.eval_size)
        if cfg.data_b is not None and (disc is None or whole):
            log.info("--data-b is only used by the adversarial term (--lambda-gan > 0) with --targets crop; "
                     "ignoring it")
        if cfg.out_dir is None:
            cfg = replace(cfg, out_dir=new_run_dir("distill"))
        assert cfg.out_dir is not None
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        resume_state = _resume_state(cfg)  # before the target cache: a wrong --resume fails at once
        if whole:
            data = replace(data, train=whole_image_targets(data, teacher.model, recipe.targets, cfg, ctx))
        elif cfg.tone_views:
            log.warning("--tone-views only applies to whole-image targets (InstanceNorm and U-Net teachers); ignoring it")
        log.info("data: %d training images; held out: %s", data.n_train, data.held_out_source)
        meta = {
            "distill": cfg.to_meta(),
            "data_a": str(cfg.data_a.resolve()),
            "data_b": str(cfg.data_b.resolve()) if cfg.data_b else None,
            "teacher": str(cfg.teacher.resolve()),
            "teacher_layout": teacher.layout,
            "teacher_config": teacher.config.to_dict(),
            "student_preset": choice.name,
            "recipe": recipe_line,
            "warm_start": warm.applied,
            "taps": [[t.student, t.teacher] for t in taps],
        }
        task = DistillTask(teacher=teacher.model, student=student, adapters=FeatureAdapters(taps, student, teacher.model),
                           discriminator=disc, dataset=data.train,
                           sample_images=held_out_images(data.held_out, SAMPLE_ROWS), weights=cfg.weights, lr=cfg.lr,
                           total_steps=cfg.steps, batch_size=cfg.batch_size, ctx=ctx, amp=cfg.amp,
                           workers=cfg.workers, student_meta=meta)
        loop_cfg = LoopConfig(total_steps=cfg.steps, out_dir=cfg.out_dir, save_every=cfg.save_every,
                              sample_every=cfg.sample_every, log_every=cfg.log_every, run_config=cfg.run_identity(),
                              state_meta={"command": "distill"}, desc="distill", progress=cfg.progress)
        fresh = resume_state is None and ctx.is_main
        before = _initial_psnr(teacher.model, student, data, ctx.device) if fresh else None
        loop = run_loop(task, loop_cfg, ctx, resume_state=resume_state)
        student_path = cfg.out_dir / STUDENT_FILE
        done = loop.end_step - loop.start_step
        result = DistillResult(
            out_dir=cfg.out_dir, student_path=student_path, teacher_layout=teacher.layout,
            teacher_config=teacher.config.to_dict(), student=choice, warm_start=warm,
            taps=[(t.student, t.teacher) for t in taps], start_step=loop.start_step, end_step=loop.end_step,
            interrupted=loop.interrupted, seconds=loop.seconds,
            images_per_s=done * cfg.batch_size * ctx.world_size / loop.seconds if loop.seconds > 0 else 0.0,
            last_metrics=loop.last_metrics, psnr_db_before=before, main_rank=ctx.is_main, recipe=recipe_line,
        )
        if ctx.is_main:
            record_latest_student(student_path)
            if not loop.interrupted:
                images = held_out_images(data.held_out)
                report, t_out, s_out = evaluate_pair(teacher.model, task.student, images, size=cfg.eval_size or cfg.size,
                                                     device=ctx.device, fid_real=_fid_real(cfg),
                                                     inception_weights=cfg.inception_weights,
                                                     names=[_name(f, cfg.eval_data or cfg.data_a)
                                                            for f in data.held_out.files[: len(images)]])
                report.extra["held_out"] = data.held_out_source
                report.extra["psnr_db_before"] = before
                if data.train_eval is not None:
                    report.extra.update(score_training_images(teacher.model, task.student,
                                                              held_out_images(data.train_eval), device=ctx.device))
                    gap = generalisation_gap(report)
                    if gap:
                        log.warning("%s", gap)
                result.eval = report
                result.eval_paths = list(write_eval(report, images, t_out, s_out, cfg.out_dir))
        return result
    finally:
        teardown_distributed(ctx)
