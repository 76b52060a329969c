"""Distillation as a library call: it improves the student, and --resume is exact."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from helpers_distill import in_tmp_dir, single_thread  # noqa: F401  (autouse fixtures)
from helpers_distill import write_images, write_teacher
from mobilegan.checkpoints import load_generator
from mobilegan.distill.config import DistillConfig
from mobilegan.distill.run import distill
from mobilegan.distill.task import DistillTask
from mobilegan.train import read_metrics


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("distill")
    return write_images(root / "A", 16), write_images(root / "held", 4, seed=9), write_teacher(root / "G.pt", "official")


@pytest.mark.slow
def test_short_distillation_raises_heldout_psnr(tmp_path: Path, setup: tuple[Path, Path, Path]) -> None:
    data_a, held, teacher = setup
    cfg = DistillConfig(teacher=teacher, data_a=data_a, eval_data=held, out_dir=tmp_path / "run", size=32, steps=80,
                        batch_size=4, seed=0, sample_every=0, save_every=0, progress=False, device="cpu")
    result = distill(cfg)
    assert result.eval is not None and result.psnr_db_before is not None
    assert result.eval.images == 4  # the same held-out images before and after
    print(f"held-out PSNR {result.psnr_db_before:.2f} -> {result.eval.psnr_db:.2f} dB")
    assert result.eval.psnr_db > result.psnr_db_before + 3.0, (result.psnr_db_before, result.eval.psnr_db)
    assert result.eval.extra["psnr_db_before"] == result.psnr_db_before


def test_sigterm_then_resume_is_exact(tmp_path: Path, setup: tuple[Path, Path, Path], monkeypatch) -> None:
    data_a, held, teacher = setup
    base = DistillConfig(teacher=teacher, data_a=data_a, eval_data=held, out_dir=tmp_path / "straight", size=32,
                         steps=6, batch_size=2, student="mobile_w0125", student_overrides={"n_blocks": 2},
                         sample_every=0, save_every=0, log_every=1, progress=False, device="cpu")
    distill(base)
    original_step = DistillTask.train_step

    def step_then_sigterm(self: DistillTask, batch: object, step: int) -> dict[str, float]:
        metrics = original_step(self, batch, step)
        if step == 2:  # after the third step, as if the job scheduler stopped us
            os.kill(os.getpid(), signal.SIGTERM)
        return metrics

    split = replace(base, out_dir=tmp_path / "split")
    with monkeypatch.context() as m:
        m.setattr(DistillTask, "train_step", step_then_sigterm)
        stopped = distill(split)
    assert stopped.interrupted and stopped.end_step == 3 and stopped.eval is None
    assert (tmp_path / "split" / "student.pt").is_file()  # usable output even when stopped
    resumed = distill(replace(split, resume=True))
    assert (resumed.start_step, resumed.end_step) == (3, 6)
    a = load_generator(tmp_path / "straight" / "student.pt").state_dict()
    b = load_generator(tmp_path / "split" / "student.pt").state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)
    steps = [r["step"] for r in read_metrics(tmp_path / "split" / "metrics.jsonl")]
    assert steps == [1, 2, 3, 4, 5, 6]
    straight = read_metrics(tmp_path / "straight" / "metrics.jsonl")
    assert [r["loss"] for r in straight] == pytest.approx([r["loss"] for r in read_metrics(tmp_path / "split" / "metrics.jsonl")], rel=1e-5)


def test_crops_at_own_scale_scored_whole_and_skip_inherited(tmp_path: Path) -> None:
    """--preprocess crop --eval-size: train on crops, score the held-out images at their own size;
    a teacher with a global skip gets a student with one."""
    from mobilegan.checkpoints import save_generator
    from mobilegan.models import GeneratorConfig, build_model

    data_a, held = write_images(tmp_path / "A", 8, side=48), write_images(tmp_path / "held", 2, side=48, seed=3)
    torch.manual_seed(0)
    teacher = save_generator(build_model(GeneratorConfig(ngf=8, n_blocks=2, norm="none", global_skip=True)),
                             tmp_path / "G.pt")
    cfg = DistillConfig(teacher=Path(teacher), data_a=data_a, eval_data=held, out_dir=tmp_path / "run", size=16,
                        preprocess="crop", eval_size=48, steps=2, batch_size=2, sample_every=0, save_every=0,
                        progress=False, device="cpu")
    result = distill(cfg)
    assert result.eval is not None and result.eval.size == 48
    assert result.student.config.global_skip
    assert load_generator(result.student_path).config.global_skip
    with pytest.raises(Exception, match="preprocess"):
        DistillConfig(teacher=Path(teacher), data_a=data_a, preprocess="none")
