"""The context clamp (issue 31): a photo unlike the training set cannot drive a context student's FiLM
anywhere training never took it.

The clamp must be open until measured, hold the descriptor exactly inside the measured range (and
change nothing inside it), be measured over every cached view of every training photo, and leave
students saved before it existed loading and computing as they did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers_models import lively
from mobilegan.checkpoints import load_generator_checkpoint, save_generator
from mobilegan.distill.context_range import calibrate_context_range, training_images
from mobilegan.distill.target_cache import TargetCache, build_cache, teacher_fingerprint
from mobilegan.distill.targets import WholeImageTargets
from mobilegan.models import create_model
from mobilegan.models.config import INSTANCE_STUDENT
from mobilegan.models.context import OPEN_RANGE

SIZE = 32


def _student(clamp: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    model = lively(create_model(INSTANCE_STUDENT, n_blocks=1, context_clamp=clamp), SIZE)
    with torch.no_grad():  # a trained branch: the FiLM depends on the descriptor
        for conv in (*model.context.scale, *model.context.shift):
            conv.weight.normal_(0, 0.2)
    return model.eval()


def _dull(n: int, seed: int = 0) -> torch.Tensor:
    """Low-contrast grey-brown photos: the training set."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, SIZE, SIZE, generator=g) * 0.4 - 0.3).clamp(-1, 1)


def _saturated() -> torch.Tensor:
    """A saturated orange close-up: far outside the dull photos' statistics."""
    x = torch.full((1, 3, SIZE, SIZE), -1.0)
    x[:, 0], x[:, 1] = 1.0, 0.2
    return x


def test_an_uncalibrated_clamp_is_open() -> None:
    clamped, plain = _student(True), _student(False)
    plain.load_state_dict({k: v for k, v in clamped.state_dict().items() if not k.startswith("context.range_")})
    assert torch.all(clamped.context.range_lo == -OPEN_RANGE) and torch.all(clamped.context.range_hi == OPEN_RANGE)
    with torch.no_grad():
        for x in (_dull(2), _saturated()):
            assert torch.equal(clamped(x), plain(x))


def test_the_clamp_holds_the_descriptor_inside_the_training_range() -> None:
    student = _student()
    train = _dull(8)
    assert calibrate_context_range(student, list(train))
    enc = student.context
    with torch.no_grad():
        d_train = enc.describe(train)
        assert torch.equal(enc.range_lo, d_train.amin(dim=0, keepdim=True))
        assert torch.equal(enc.range_hi, d_train.amax(dim=0, keepdim=True))
        # inside the range nothing changes (the clamp's arithmetic is exact there) ...
        assert torch.allclose(enc(train), enc.describe(train), atol=1e-6, rtol=0)
        # ... outside it the descriptor is the clamped one, and the output follows it
        x = _saturated()
        raw = enc.describe(x)
        assert ((raw > enc.range_hi) | (raw < enc.range_lo)).any()  # the photo is out of range
        expected = torch.maximum(torch.minimum(raw, enc.range_hi), enc.range_lo)
        assert torch.allclose(enc(x), expected, atol=1e-5, rtol=1e-6)
        assert not torch.allclose(student(x), student(x, film=raw), atol=1e-3)


def test_training_never_sees_the_clamp() -> None:
    """A range measured at an intermediate save is stale once the weights move on: if training clamped
    with it, the FiLM would learn on clamped descriptors, and the range measured at the final save would
    hand it others (a U-Net teacher's student fell from 32.9 to 27.0 dB this way)."""
    student = _student()
    calibrate_context_range(student, list(_dull(4)))
    x = _saturated()
    student.train()
    with torch.no_grad():
        assert torch.equal(student.context(x), student.context.describe(x))  # the raw descriptor
    student.eval()
    with torch.no_grad():
        assert not torch.equal(student.context(x), student.context.describe(x))  # clamped


def test_a_student_without_the_clamp_is_left_alone() -> None:
    assert not calibrate_context_range(_student(False), list(_dull(2)))
    assert not calibrate_context_range(lively(create_model("mobile_s2d4_w025", n_blocks=1), SIZE), list(_dull(2)))


def test_the_range_covers_every_cached_view_of_every_photo(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    files = []
    for i in range(4):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (3, 3, 3), dtype=np.uint8)).resize((SIZE, SIZE)).save(files[-1])
    teacher = create_model("resnet_6blocks", ngf=4, n_blocks=1).eval()
    cache = TargetCache(tmp_path / "cache", files, side=SIZE, tone_views=1, seed=0,
                        teacher_id=teacher_fingerprint(teacher))
    build_cache(cache, teacher, torch.device("cpu"), progress=False)
    dataset = WholeImageTargets(cache, crop=16, with_whole=True)
    images = list(training_images(dataset))
    assert len(images) == 4 * cache.spec.views == 12  # each photo, its mirror and a recoloured view
    student = _student()
    assert calibrate_context_range(student, dataset)
    with torch.no_grad():
        d = student.context.describe(torch.stack(images))
    assert torch.equal(student.context.range_lo, d.amin(dim=0, keepdim=True))
    assert torch.equal(student.context.range_hi, d.amax(dim=0, keepdim=True))


def test_a_student_saved_before_the_clamp_loads_and_computes_as_before(tmp_path: Path) -> None:
    old = _student(False)
    path = save_generator(old, tmp_path / "old.pt")
    payload = torch.load(path, weights_only=True)
    del payload["config"]["context_clamp"]  # the file as written before the clamp existed
    torch.save(payload, path)
    loaded = load_generator_checkpoint(path)
    assert loaded.config.context_clamp is False and not hasattr(loaded.model.context, "range_lo")
    x = _saturated()
    with torch.no_grad():
        assert torch.equal(loaded.model.eval()(x), old(x))


def test_a_calibrated_range_survives_saving(tmp_path: Path) -> None:
    student = _student()
    calibrate_context_range(student, list(_dull(4)))
    loaded = load_generator_checkpoint(save_generator(student, tmp_path / "s.pt")).model.eval()
    assert torch.equal(loaded.context.range_lo, student.context.range_lo)
    with torch.no_grad():
        assert torch.equal(loaded(_saturated()), student(_saturated()))
