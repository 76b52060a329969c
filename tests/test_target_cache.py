"""The teacher-target cache on disk (issue 31 item 4) and the recoloured views (item 2).

Mechanism only, on tiny images: the cache is memory-mapped files that a second run reuses without
running the teacher, an interrupted build resumes where it stopped and ends bit for bit where an
uninterrupted one does, another teacher starts it again, an unreadable photo is left out, a disk too
small fails with one line, and every recoloured view is rebuilt exactly as the teacher saw it.
"""

from __future__ import annotations

import errno
import random

import numpy as np
import pytest
import torch
from PIL import Image

from mobilegan.distill import target_cache
from mobilegan.distill.losses import tone_loss
from mobilegan.distill.target_cache import DONE, UNREADABLE, TargetCache, build_cache, teacher_fingerprint
from mobilegan.distill.targets import WholeImageTargets
from mobilegan.distill.views import Recolour, make_view, to_uint8, to_unit
from mobilegan.errors import DataError
from mobilegan.models.registry import create_model


def _photos(folder, n: int, side: int = 24) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    files = []
    for i in range(n):
        img = Image.fromarray(rng.integers(0, 255, (3, 3, 3), dtype=np.uint8)).resize((side, side))
        files.append(folder / f"{i:02d}.png")
        img.save(files[-1])
    return files


class Counting(torch.nn.Module):
    """An InstanceNorm teacher that counts the images it translates (and can stop after some)."""

    def __init__(self, stop_after: int | None = None, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = create_model("resnet_6blocks", ngf=4, n_blocks=1).eval()
        self.seen, self.stop_after = 0, stop_after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stop_after is not None and self.seen >= self.stop_after:
            raise KeyboardInterrupt
        self.seen += len(x)
        return self.net(x)


def _cache(folder, files, teacher: torch.nn.Module, tone_views: int = 0) -> TargetCache:
    return TargetCache(folder, files, side=16, tone_views=tone_views, seed=3, teacher_id=teacher_fingerprint(teacher))


def test_a_second_run_reads_the_cache_without_the_teacher(tmp_path) -> None:
    files = _photos(tmp_path / "a", 5)
    teacher = Counting()
    cache = _cache(tmp_path / "c", files, teacher)
    build_cache(cache, teacher, torch.device("cpu"), progress=False)
    assert teacher.seen == 5 * 2  # each photo and its mirror
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"manifest.json", "photos.u8", "targets.u8", "status.u8"}
    again = Counting()
    again.load_state_dict(teacher.state_dict())
    build_cache(_cache(tmp_path / "c", files, again), again, torch.device("cpu"), progress=False)
    assert again.seen == 0
    with torch.no_grad():
        expected = to_uint8(teacher.net(to_unit(torch.stack([cache.view(2, 1)]))))[0]
    assert torch.equal(cache.target(2, 1), expected)


def test_an_interrupted_build_resumes_where_it_stopped(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(target_cache, "CHUNK_PHOTOS", 2)
    monkeypatch.setattr(target_cache, "TEACHER_BATCH", 2)
    files = _photos(tmp_path / "a", 7)
    whole = Counting()
    build_cache(_cache(tmp_path / "ref", files, whole), whole, torch.device("cpu"), progress=False)

    stopped = Counting(stop_after=6)  # chunks of 2 photos x 2 views: dies in the middle of the second chunk
    stopped.load_state_dict(whole.state_dict())
    with pytest.raises(KeyboardInterrupt):
        build_cache(_cache(tmp_path / "c", files, stopped), stopped, torch.device("cpu"), progress=False)
    status = np.fromfile(tmp_path / "c" / "status.u8", dtype=np.uint8)
    assert status.tolist() == [DONE, DONE, 0, 0, 0, 0, 0]  # the half-done chunk is not claimed
    with pytest.raises(DataError, match="run the same command again"):
        WholeImageTargets(_cache(tmp_path / "c", files, stopped), crop=16)

    resumed = Counting()
    resumed.load_state_dict(whole.state_dict())
    build_cache(_cache(tmp_path / "c", files, resumed), resumed, torch.device("cpu"), progress=False)
    assert resumed.seen == 5 * 2  # only the photos not done before
    for name in ("photos", "targets", "status"):
        assert (tmp_path / "c" / f"{name}.u8").read_bytes() == (tmp_path / "ref" / f"{name}.u8").read_bytes()


def test_another_teacher_or_size_starts_the_cache_again(tmp_path) -> None:
    files = _photos(tmp_path / "a", 3)
    first, other = Counting(seed=0), Counting(seed=1)
    build_cache(_cache(tmp_path / "c", files, first), first, torch.device("cpu"), progress=False)
    build_cache(_cache(tmp_path / "c", files, other), other, torch.device("cpu"), progress=False)
    assert other.seen == 3 * 2
    bigger = TargetCache(tmp_path / "c", files, side=24, tone_views=0, seed=3, teacher_id=teacher_fingerprint(other))
    build_cache(bigger, other, torch.device("cpu"), progress=False)
    assert other.seen == 2 * 3 * 2 and bigger.target(0, 0).shape == (3, 24, 24)


def test_an_unreadable_photo_is_left_out(tmp_path) -> None:
    files = _photos(tmp_path / "a", 4)
    files[1].write_bytes(b"not a png")
    teacher = Counting()
    cache = _cache(tmp_path / "c", files, teacher)
    build_cache(cache, teacher, torch.device("cpu"), progress=False)
    assert np.fromfile(tmp_path / "c" / "status.u8", dtype=np.uint8)[1] == UNREADABLE
    ds = WholeImageTargets(cache, crop=8)
    assert ds.photos == [0, 2, 3] and len(ds) == 3 * 2


def test_a_disk_too_small_is_one_clear_error(tmp_path, monkeypatch) -> None:
    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(target_cache.os, "posix_fallocate", full)
    teacher = Counting()
    with pytest.raises(DataError, match="--target-cache DIR on a larger disk"):
        build_cache(_cache(tmp_path / "c", _photos(tmp_path / "a", 2), teacher), teacher, torch.device("cpu"),
                    progress=False)


def test_recoloured_views_are_what_the_teacher_saw(tmp_path) -> None:
    files = _photos(tmp_path / "a", 2)
    teacher = Counting()
    cache = _cache(tmp_path / "c", files, teacher, tone_views=2)
    build_cache(cache, teacher, torch.device("cpu"), progress=False)
    assert teacher.seen == 2 * 4
    photo = cache.view(1, 0)
    for v in (2, 3):
        view = cache.view(1, v)
        assert view.dtype == torch.uint8 and not torch.equal(view, photo) and not torch.equal(view, photo.flip(-1))
        assert torch.equal(view, make_view(photo, v, seed=3, index=1))  # a pure function of (seed, photo, view)
        with torch.no_grad():
            assert torch.equal(cache.target(1, v), to_uint8(teacher.net(to_unit(view[None])))[0])
    ds = WholeImageTargets(cache, crop=16, with_whole=True)
    assert len(ds) == 2 * 4
    assert any(not torch.equal(ds[k]["W"], to_unit(cache.view(i, v)))
               for k in range(8) for i in (0, 1) for v in (0, 1))  # samples reach the recoloured views too


def test_recolour_changes_white_balance_exposure_and_saturation() -> None:
    x = torch.full((3, 4, 4), 128, dtype=torch.uint8)
    x[0] = 200  # a reddish grey
    warm = Recolour(gain=(1.2, 1.0, 0.8), gamma=1.0, saturation=1.0, mirror=False).apply(x).float()
    assert warm[0].mean() > 200 and warm[2].mean() < 128
    dark = Recolour(gain=(1.0, 1.0, 1.0), gamma=1.8, saturation=1.0, mirror=False).apply(x).float()
    assert (dark < x.float()).all()
    grey = Recolour(gain=(1.0, 1.0, 1.0), gamma=1.0, saturation=0.0, mirror=False).apply(x).float()
    assert (grey.max(0).values - grey.min(0).values).max() <= 1
    draws = {Recolour.draw(random.Random(s)) for s in range(20)}
    assert len(draws) == 20 and any(d.mirror for d in draws) and not all(d.mirror for d in draws)


def test_tone_loss_sees_colour_not_texture() -> None:
    torch.manual_seed(0)
    teacher = torch.rand(2, 3, 32, 32) * 2 - 1
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 0.2 - 0.1  # zero-mean texture
    assert tone_loss(teacher + checker, teacher) < 1e-6
    assert abs(float(tone_loss(teacher + 0.1, teacher)) - 0.1) < 1e-5


@pytest.mark.slow
def test_distill_stopped_while_caching_resumes_without_recomputing(tmp_path, monkeypatch, capsys) -> None:
    from helpers_distill import write_images, write_teacher
    from mobilegan.cli.main import main

    monkeypatch.setattr(target_cache, "CHUNK_PHOTOS", 2)
    data = write_images(tmp_path / "A", 10, side=32)
    teacher = write_teacher(tmp_path / "latest_net_G_A.pth", "official")  # InstanceNorm: whole-image targets
    out = tmp_path / "run"
    argv = ["distill", "--teacher", str(teacher), "--data-a", str(data), "--size", "16", "--eval-size", "32",
            "--steps", "2", "--batch-size", "2", "--out", str(out), "--no-progress", "--save-every", "0",
            "--sample-every", "0"]
    real_view, calls = TargetCache._view, []

    def stop_in_second_chunk(self, arrays, i, v):
        calls.append(i)
        if len(calls) > 5:  # 2 photos x 2 views per chunk: the first chunk is done, the second is not
            raise KeyboardInterrupt
        return real_view(self, arrays, i, v)

    monkeypatch.setattr(TargetCache, "_view", stop_in_second_chunk)
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    status = np.fromfile(out / "target_cache" / "status.u8", dtype=np.uint8)
    assert (status == DONE).sum() == 2 and not (out / "student.pt").exists()

    built: list[int] = []  # photos the teacher translates in the resumed run (the cache is writable then)

    def record(self, arrays, i, v):
        if arrays["photos"].flags.writeable:
            built.append(int(i))
        return real_view(self, arrays, i, v)

    monkeypatch.setattr(TargetCache, "_view", record)
    assert main([*argv, "--resume"]) == 0
    assert (out / "student.pt").is_file()
    done_before = set(np.flatnonzero(status == DONE).tolist())
    assert built and done_before.isdisjoint(built)  # photos done before are not translated again
    assert set(built) | done_before == set(range(len(status)))
