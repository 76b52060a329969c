"""Whole-image teacher targets (issue 22): what an InstanceNorm teacher computes depends on what it sees.

Mechanism only, on tiny images: the cached target of a crop is the crop of the teacher's output on
the whole image (not the teacher's output on the crop), the recipe picks whole-image targets for
per-image-norm teachers and crop targets for local ones, and distill runs that way end to end.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mobilegan.data.transforms import to_tensor
from mobilegan.distill.recipe import plan_recipe
from mobilegan.distill.target_cache import TargetCache, build_cache
from mobilegan.distill.targets import WholeImageTargets
from mobilegan.errors import ConfigError
from mobilegan.models.config import DEFAULT_STUDENT, INSTANCE_STUDENT
from mobilegan.models.registry import create_model, get_config


def _images(folder, n: int = 3, side: int = 32) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = []
    for i in range(n):
        low = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(low).resize((side, side), Image.Resampling.BICUBIC)
        files.append(folder / f"{i}.png")
        img.save(files[-1])
    return files


def _in_teacher() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("resnet_6blocks", ngf=8, n_blocks=2).eval()


def _dataset(files, teacher, folder, *, side: int, crop: int, align: int = 1, tone_views: int = 0
             ) -> WholeImageTargets:
    cache = TargetCache(folder, files, side=side, tone_views=tone_views, seed=0, teacher_id="t")
    build_cache(cache, teacher, torch.device("cpu"), progress=False)
    return WholeImageTargets(cache, crop=crop, align=align)


def _whole_inputs(ds: WholeImageTargets) -> torch.Tensor:
    """Every (photo, view) the teacher saw, as one (P * V, 3, side, side) batch in [-1, 1]."""
    views = [ds.cache.view(i, v) for i in ds.photos for v in range(ds.cache.spec.views)]
    return torch.stack(views).float() / 127.5 - 1


def test_targets_are_crops_of_the_whole_image_output(tmp_path) -> None:
    files = _images(tmp_path / "a")
    teacher = _in_teacher()
    ds = _dataset(files, teacher, tmp_path / "cache", side=32, crop=16)
    assert len(ds) == 2 * len(files)  # the image and its mirror
    whole_inputs = _whole_inputs(ds)
    with torch.no_grad():
        whole_out = teacher(whole_inputs)
    hits = 0
    for k in range(12):
        item = ds[k]
        assert item["A"].shape == item["T"].shape == (3, 16, 16)
        # find the view and position the sample came from, then compare with the whole-image output
        for i in range(len(whole_inputs)):
            for r in range(17):
                for c in range(17):
                    if torch.equal(whole_inputs[i, :, r:r + 16, c:c + 16], item["A"]):
                        assert (item["T"] - whole_out[i, :, r:r + 16, c:c + 16]).abs().max() <= 1 / 127.5  # uint8
                        with torch.no_grad():
                            on_crop = teacher(item["A"][None])[0]
                        assert (on_crop - item["T"]).abs().max() > 0.05  # an IN teacher sees a crop differently
                        hits += 1
    assert hits >= 12
    assert torch.equal(ds[5]["A"], ds[5]["A"])  # deterministic in k


def test_mirror_view_is_the_flipped_image(tmp_path) -> None:
    files = _images(tmp_path / "a", n=2)
    ds = _dataset(files, _in_teacher(), tmp_path / "cache", side=32, crop=32)
    assert torch.equal(ds.cache.view(0, 1), ds.cache.view(0, 0).flip(-1))
    first = to_tensor(Image.open(files[0]).convert("RGB"))
    assert (ds.cache.view(0, 0).float() / 127.5 - 1 - first).abs().max() < 1e-6


def test_crop_larger_than_side_is_refused(tmp_path) -> None:
    from mobilegan.errors import DataError

    with pytest.raises(DataError, match="larger"):
        _dataset(_images(tmp_path / "a"), _in_teacher(), tmp_path / "cache", side=16, crop=32)


@pytest.mark.parametrize("norm,kind", [("instance", "whole"), ("batch_image", "whole"), ("none", "crop"), ("batch", "crop")])
def test_recipe_follows_the_teachers_norm(norm: str, kind: str) -> None:
    teacher = get_config("resnet_6blocks", norm=norm)
    recipe = plan_recipe(teacher, student=None, student_overrides={}, targets="auto", size=64, eval_size=256,
                         batch_size=16)
    assert recipe.targets.kind == kind
    assert recipe.student == (INSTANCE_STUDENT if kind == "whole" else DEFAULT_STUDENT)
    assert recipe.use_taps == (kind == "crop")
    if kind == "whole":  # the context student trains on crops of the cached whole-image targets
        assert (recipe.targets.side, recipe.targets.crop, recipe.batch_size) == (256, 64, 16)
        assert "whole image at 256 px" in recipe.describe()


def test_a_per_image_student_trains_on_whole_images() -> None:
    recipe = plan_recipe(get_config("resnet_6blocks"), student="mobile_s2d4_w025_in", student_overrides={},
                         targets="auto", size=64, eval_size=256, batch_size=16)
    assert (recipe.targets.crop, recipe.batch_size) == (256, 4)  # 16 crops of 64 px -> 4 whole 256 px images


def test_user_choices_win_over_the_recipe() -> None:
    teacher = get_config("resnet_6blocks")  # InstanceNorm
    crop = plan_recipe(teacher, student=None, student_overrides={}, targets="crop", size=64, eval_size=None,
                       batch_size=16)
    assert crop.targets.kind == "crop" and crop.batch_size == 16
    whole = plan_recipe(teacher, student=None, student_overrides={}, targets="auto", size=64, eval_size=None,
                        batch_size=16)
    assert whole.targets.side == whole.targets.crop == 64  # without --eval-size the student runs at --size
    mine = plan_recipe(teacher, student="mobile_w025", student_overrides={}, targets="auto", size=64, eval_size=128,
                       batch_size=16)
    assert mine.student == "mobile_w025" and mine.targets.kind == "whole" and mine.targets.side == 128
    with pytest.raises(ConfigError, match="--targets"):
        plan_recipe(teacher, student=None, student_overrides={}, targets="tiles", size=64, eval_size=None,
                    batch_size=4)


def test_crops_lie_on_the_networks_pixel_grid(tmp_path) -> None:
    ds = _dataset(_images(tmp_path / "a"), _in_teacher(), tmp_path / "cache", side=32, crop=16, align=4)
    whole = _whole_inputs(ds)
    corners = set()
    for k in range(40):
        item = ds[k]
        found = [(r, c) for i in range(len(whole)) for r in range(17) for c in range(17)
                 if torch.equal(whole[i, :, r:r + 16, c:c + 16], item["A"])]
        assert found and all(r % 4 == 0 and c % 4 == 0 for r, c in found)
        corners.update(found)
    assert len(corners) > 5  # still many distinct positions: 5 x 5 corners on the grid


@pytest.mark.parametrize("teacher,grid", [("resnet_6blocks", 4), ("unet_128", 16)])
def test_recipe_aligns_crops_to_both_networks_grids(teacher: str, grid: int) -> None:
    recipe = plan_recipe(get_config(teacher), student=None, student_overrides={}, targets="auto", size=64,
                         eval_size=256, batch_size=16)
    # a ResNet teacher's transposed convs repeat every 4 px, as the s2d4 student does; a U-Net's period is
    # its whole input (128 px), halved until 64 px crops of 256 px images keep at least 8 corners per axis
    assert recipe.targets.align == grid and f"{grid} px grid" in recipe.describe()
