"""``mobilegan demo --teacher instance``: the shipped InstanceNorm teacher and what the demo does with it.

The teacher is a real official-layout ``latest_net_G_A.pth`` (InstanceNorm): its card must reproduce,
its look (the sketch of ``texture_styles``) is the demo's ground truth, and distill must take the
whole-image recipe for it. The full variant runs in ``make``-sized time only outside the test suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.demo.photos import DemoDataConfig, build_demo_data
from mobilegan.demo.pipeline import ASSETS, DEMO_TEACHERS, DemoConfig
from mobilegan.demo.texture_styles import TEXTURE_STYLES, sketch
from mobilegan.distill.recipe import plan_recipe
from mobilegan.errors import MobileganError
from mobilegan.models.config import INSTANCE_STUDENT
from mobilegan.utils.hashing import sha256_file

TEACHER = ASSETS / DEMO_TEACHERS["instance"].file


def test_shipped_instance_teacher_is_an_official_instance_norm_checkpoint() -> None:
    card = json.loads(TEACHER.with_suffix(".json").read_text())
    assert sha256_file(TEACHER) == card["sha256"]
    assert TEACHER.stat().st_size <= 10 * 1024 * 1024
    loaded = load_generator_checkpoint(TEACHER)
    assert loaded.layout == "official" and loaded.config.norm == "instance"
    recipe = plan_recipe(loaded.config, student=None, student_overrides={}, targets="auto", size=64, eval_size=256,
                         batch_size=16)
    assert recipe.student == INSTANCE_STUDENT and recipe.targets.kind == "whole"


@pytest.mark.slow
def test_instance_teacher_card_reproduces_on_the_held_out_blocks(tmp_path: Path) -> None:
    from mobilegan.demo.score import score_generator

    card = json.loads(TEACHER.with_suffix(".json").read_text())
    data = build_demo_data(tmp_path / "d", DemoDataConfig(style="sketch"))
    torch.set_num_threads(2)
    score = score_generator(load_generator_checkpoint(TEACHER).model, data, 256)
    assert score.psnr_db == pytest.approx(card["scores"]["psnr_db_vs_truth"], abs=0.05)
    assert score.gain_db > 10  # a pencil sketch is far from the photo: the teacher does the work


def test_demo_data_uses_the_teachers_look(tmp_path: Path) -> None:
    data = build_demo_data(tmp_path / "d", DemoDataConfig(style="sketch", blocks_per_photo=4))
    held = sorted(data.test_a.iterdir())[0]
    truth = np.asarray(Image.open(data.test_b_truth / held.name))
    expected = np.clip(np.rint(sketch(np.asarray(Image.open(held))) * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(truth, expected)
    with pytest.raises(MobileganError, match="unknown demo style"):
        build_demo_data(tmp_path / "e", DemoDataConfig(style="oil"))


def test_texture_looks_hardly_see_a_global_brightness_change() -> None:
    """What makes them InstanceNorm-representable: relative brightness and edges, not absolute values."""
    rng = np.random.default_rng(0)
    low = rng.uniform(0.2, 0.7, (8, 8, 3)).astype(np.float32)
    img = np.asarray(Image.fromarray((low * 255).astype(np.uint8)).resize((64, 64), Image.Resampling.BICUBIC)) / 255.0
    for look in TEXTURE_STYLES.values():
        a, b = look(img.astype(np.float32)), look((img * 0.8 + 0.1).astype(np.float32))
        assert np.abs(a - b).mean() < 0.08


def test_from_scratch_is_for_the_default_teacher_only(tmp_path: Path) -> None:
    with pytest.raises(MobileganError, match="from-scratch"):
        DemoConfig(out=tmp_path, teacher="instance", from_scratch=True)
    with pytest.raises(MobileganError, match="unknown demo teacher"):
        DemoConfig(out=tmp_path, teacher="zebra")


def test_style_docstrings_become_plain_text() -> None:
    from mobilegan.demo.pipeline import plain_text

    text = plain_text("""Looks.

    The grade (:mod:`mobilegan.demo.style`) and ``style(x)``
    wrap here.

    * ``sketch``: strokes.
    * ``cartoon``: ink.
    """)
    assert text == "Looks. The grade (mobilegan.demo.style) and style(x) wrap here. \u2022 sketch: strokes. \u2022 cartoon: ink."
