"""Image decoding of odd files, folder listing, augmentation and the unpaired dataset."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_train import make_folder
from mobilegan.data import (
    AugmentConfig,
    ImageDataset,
    ImageDecodeError,
    StepBatchSampler,
    UnpairedDataset,
    default_load_size,
    list_images,
    load_image_rgb,
    to_tensor,
)
from mobilegan.errors import ConfigError, DataError


def _exif_rotated_jpeg(path: Path) -> None:
    # Stored 20 wide x 10 high with orientation 6 (rotate 90 CW to display): shown 10 x 20.
    img = Image.new("RGB", (20, 10), (200, 10, 10))
    img.paste((10, 10, 200), (0, 0, 5, 10))  # blue strip on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, exif=exif.tobytes(), quality=95)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    _exif_rotated_jpeg(tmp_path / "r.jpg")
    img = load_image_rgb(tmp_path / "r.jpg")
    assert img.size == (10, 20)
    top = np.asarray(img)[1, 5]  # stored left edge is now the top
    assert top[2] > 150 and top[0] < 80


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 0] = 255
    arr[:, :4, 3] = 255  # left half opaque red, right half fully transparent
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    out = np.asarray(load_image_rgb(tmp_path / "a.png"))
    assert out.shape == (8, 8, 3)
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 7]) == (255, 255, 255)


@pytest.mark.parametrize(("mode", "ext"), [("L", "png"), ("1", "png"), ("P", "png"), ("CMYK", "jpg"),
                                           ("CMYK", "tif"), ("LA", "png"), ("F", "tif"), ("YCbCr", "jpg")])
def test_modes_become_rgb(tmp_path: Path, mode: str, ext: str) -> None:
    path = tmp_path / f"x.{ext}"
    Image.new("RGB", (6, 5), (0, 128, 255)).convert(mode).save(path)
    img = load_image_rgb(path)
    assert img.mode == "RGB" and img.size == (6, 5)
    if mode in ("P", "CMYK", "YCbCr"):  # colour survives (within JPEG error)
        r, g, b = np.asarray(img)[2, 2].astype(int)
        assert r < 40 and 90 < g < 170 and b > 210


def test_palette_with_transparency_uses_white(tmp_path: Path) -> None:
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 1)
    img.save(tmp_path / "t.png", transparency=0)
    out = np.asarray(load_image_rgb(tmp_path / "t.png"))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[3, 3]) == (255, 255, 255)


def test_16bit_grayscale_keeps_its_range(tmp_path: Path) -> None:
    arr = np.full((4, 4), 65535, np.uint16)
    arr[0, 0] = 0
    arr[1, 1] = 32768
    Image.fromarray(arr).save(tmp_path / "g16.png")
    out = np.asarray(load_image_rgb(tmp_path / "g16.png"))
    assert out.dtype == np.uint8 and out.shape == (4, 4, 3)
    assert tuple(out[2, 2]) == (255, 255, 255) and tuple(out[0, 0]) == (0, 0, 0)
    assert out[1, 1, 0] == 128


def test_webp_bmp_tiff_decode(tmp_path: Path) -> None:
    for ext in ("webp", "bmp", "tif", "tiff", "jpeg"):
        Image.new("RGB", (9, 7), (1, 2, 3)).save(tmp_path / f"i.{ext}")
        assert load_image_rgb(tmp_path / f"i.{ext}").size == (9, 7)


def test_corrupt_and_truncated_files_raise_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    for name in ("junk.png", "cut.jpg"):
        with pytest.raises(ImageDecodeError, match=name):
            load_image_rgb(tmp_path / name)


def test_decompression_bomb_is_a_per_file_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (40, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 px > 2 x 100: refused
    with pytest.raises(ImageDecodeError, match="decompression bomb"):
        load_image_rgb(tmp_path / "big.png")


def test_list_images_is_recursive_and_filters(tmp_path: Path) -> None:
    make_folder(tmp_path, 3, seed=0)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"")
    files = list_images(tmp_path)
    assert [f.name for f in files] == ["img_0.png", "img_1.png", "img_2.png"]
    assert files[-1].parent.name == "nested"
    with pytest.raises(DataError, match="no such folder"):
        list_images(tmp_path / "missing")


def test_unreadable_files_are_skipped_counted_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_folder(tmp_path, 3, seed=0)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with caplog.at_level(logging.WARNING):
        ds = ImageDataset.from_folder(tmp_path, AugmentConfig(size=32), name="A")
    assert len(ds) == 3 and ds.skipped == 1
    assert "broken.jpg" in caplog.text and "skipped 1 of 4" in caplog.text


def test_empty_or_mostly_broken_domain_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="domain A: no images found"):
        ImageDataset.from_folder(tmp_path / "empty", AugmentConfig(size=32), name="A")
    bad = make_folder(tmp_path / "bad", 1, seed=0)
    for i in range(2):
        (bad / f"x{i}.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="2 of 3 image files are unreadable"):
        ImageDataset.from_folder(bad, AugmentConfig(size=32), name="B")


def test_file_broken_after_scan_is_skipped_at_load(tmp_path: Path) -> None:
    make_folder(tmp_path, 2, seed=0)
    ds = ImageDataset.from_folder(tmp_path, AugmentConfig(size=32), name="A", shuffle=False)
    ds.files[0].write_bytes(b"gone bad")
    assert ds.sample(0).shape == (3, 32, 32)  # fell through to the next file
    assert ds.load_failures == 1


def test_augmentation_shapes_range_and_upscaling(tmp_path: Path) -> None:
    make_folder(tmp_path, 1, seed=0, size=(12, 10))  # smaller than the crop
    for pre in ("resize_crop", "crop"):
        x = ImageDataset.from_folder(tmp_path, AugmentConfig(size=32, preprocess=pre), name="A")[0]
        assert x.shape == (3, 32, 32) and x.min() >= -1 and x.max() <= 1
    whole = ImageDataset.from_folder(tmp_path, AugmentConfig(size=32, preprocess="none"), name="A")[0]
    assert whole.shape == (3, 12, 12)  # 10 -> 12 rows, 12 cols kept
    assert default_load_size(256) == 286 and default_load_size(32) == 36
    with pytest.raises(ConfigError):
        AugmentConfig(size=30)


def test_flip_and_crop_depend_only_on_seed_and_index(tmp_path: Path) -> None:
    make_folder(tmp_path, 3, seed=0)
    aug = AugmentConfig(size=32)
    ds1 = ImageDataset.from_folder(tmp_path, aug, seed=5, name="A")
    ds2 = ImageDataset.from_folder(tmp_path, aug, seed=5, name="A")
    ds3 = ImageDataset.from_folder(tmp_path, aug, seed=6, name="A")
    for k in (7, 0, 4):
        assert torch.equal(ds1[k], ds2[k])
    assert any(not torch.equal(ds1[k], ds3[k]) for k in range(6))
    # every image appears exactly once per epoch
    assert sorted(ds1.file_for(k) for k in range(3, 6)) == [0, 1, 2]
    no_flip = ImageDataset.from_folder(tmp_path, AugmentConfig(size=32, load_size=32, flip=False), name="A", shuffle=False)
    img = load_image_rgb(no_flip.files[0]).resize((32, 32), Image.Resampling.BICUBIC)
    assert torch.equal(no_flip[0], to_tensor(img))


def test_unpaired_dataset_and_sampler_shard_ranks(tmp_path: Path) -> None:
    a = ImageDataset.from_folder(make_folder(tmp_path / "A", 3, seed=0), AugmentConfig(size=32), name="A")
    b = ImageDataset.from_folder(make_folder(tmp_path / "B", 2, seed=1), AugmentConfig(size=32), name="B")
    ds = UnpairedDataset(a, b)
    item = ds[4]
    assert len(ds) == 3 and item["A"].shape == item["B"].shape == (3, 32, 32) and item["k"] == 4
    r0 = list(StepBatchSampler(start_step=2, total_steps=4, batch_size=2, rank=0, world_size=2))
    r1 = list(StepBatchSampler(start_step=2, total_steps=4, batch_size=2, rank=1, world_size=2))
    assert r0 == [[8, 9], [12, 13]] and r1 == [[10, 11], [14, 15]]
