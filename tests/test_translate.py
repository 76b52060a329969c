"""translate: any size, EXIF orientation, tiling that matches whole-image output, safe file handling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilegan.checkpoints import save_generator
from mobilegan.cli.main import main
from mobilegan.inference.tiling import TileConfig, frozen_instance_stats, run_tiled, translate_tensor, pad_to_multiple
from mobilegan.inference.translate import TranslateConfig, translate_files
from mobilegan.models import create_model


def _smooth_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=g)
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False) * 2 - 1


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4.0 / ((a - b) ** 2).mean()))  # range [-1, 1] -> peak 2


# Stated tolerances: tiles of 96 px with 32 px overlap against one whole-image pass.
# InstanceNorm teacher (reflect padding, large receptive field): >= 28 dB with whole-image
# statistics. BatchNorm student: statistics are fixed, only borders differ: >= 50 dB.
@pytest.mark.parametrize("name,min_db", [("resnet_6blocks", 28.0), ("mobile_w025", 50.0)])
def test_tiled_matches_whole_image(name: str, min_db: float) -> None:
    torch.manual_seed(0)
    model = (create_model(name, ngf=16) if name.startswith("resnet") else create_model(name)).eval()
    x = _smooth_image(203, 257)
    whole = translate_tensor(model, x)
    tiled = translate_tensor(model, x, TileConfig(tile=96, overlap=32))
    assert tiled.shape == whole.shape == x.shape
    assert _psnr(whole, tiled) >= min_db


def test_whole_image_statistics_beat_per_tile_statistics() -> None:
    torch.manual_seed(0)
    model = create_model("resnet_6blocks", ngf=16).eval()
    x, _ = pad_to_multiple(_smooth_image(203, 257, seed=1))
    cfg = TileConfig(tile=96, overlap=32)
    with torch.no_grad():
        whole = model(x)
        naive = run_tiled(model, x, cfg)
        with frozen_instance_stats(model, x, cfg.stats_max_side):
            fixed = run_tiled(model, x, cfg)
    assert _psnr(whole, fixed) > _psnr(whole, naive) + 3


def test_odd_sizes_are_padded_and_cropped_back() -> None:
    model = create_model("mobile_w0125").eval()
    for h, w in [(33, 50), (5, 7), (64, 61)]:
        assert translate_tensor(model, _smooth_image(h, w)).shape == (1, 3, h, w)


@pytest.fixture()
def student(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_generator(create_model("mobile_w0125").eval(), tmp_path / "student.pt")


def test_translate_files_orientation_formats_and_skips(tmp_path: Path, student: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (30, 50, 3), dtype=np.uint8)).save(src / "a.png")
    rot = Image.fromarray(rng.integers(0, 255, (21, 40, 3), dtype=np.uint8))
    exif = rot.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display: displayed size is 21 wide, 40 high
    rot.save(src / "b.jpg", exif=exif)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = translate_files([str(src)], student, tmp_path / "out", TranslateConfig(tile=TileConfig(tile=32, overlap=8)))
    names = sorted(p.name for p in result.written)
    assert names == ["a.png", "b.jpg"]
    assert Image.open(tmp_path / "out" / "a.png").size == (50, 30)
    assert Image.open(tmp_path / "out" / "b.jpg").size == (21, 40)
    assert len(result.skipped) == 1 and "broken.jpg" in result.skipped[0]


def test_translate_never_overwrites_inputs(tmp_path: Path, student: Path) -> None:
    img = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (10, 200, 30)).save(img)
    before = img.read_bytes()
    result = translate_files([str(img)], student, tmp_path, TranslateConfig())
    assert result.written == [] and "overwrite" in result.skipped[0]
    assert img.read_bytes() == before


def test_translate_cli_errors(tmp_path: Path, student: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(tmp_path / "missing.png"), "--model", str(student), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    img = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(img)
    assert main(["translate", str(img), "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.pt" in err


@pytest.fixture(scope="module")
def exported_student(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from mobilegan.export.pipeline import export_model

    root = tmp_path_factory.mktemp("exported")
    torch.manual_seed(0)
    ckpt = save_generator(create_model("mobile_w0125").eval(), root / "student.pt")
    export_model(ckpt, targets=["executorch", "onnx"], out_dir=root / "out", size=64)
    return ckpt, root / "out"


@pytest.mark.parametrize("suffix", [".pte", ".onnx"])
def test_translate_with_exported_artifacts_matches_checkpoint(tmp_path: Path, exported_student: tuple[Path, Path],
                                                              suffix: str) -> None:
    ckpt, out_dir = exported_student
    model_file = next(p for p in sorted(out_dir.iterdir()) if p.suffix == suffix and "int8" not in p.name)
    rng = np.random.default_rng(1)
    low = rng.integers(0, 255, (12, 19, 3), dtype=np.uint8)
    Image.fromarray(low).resize((150, 97), Image.Resampling.BICUBIC).save(tmp_path / "photo.png")
    tile = TileConfig(tile=64, overlap=16)
    eager = translate_files([str(tmp_path / "photo.png")], ckpt, tmp_path / "eager", TranslateConfig(tile=tile))
    exp = translate_files([str(tmp_path / "photo.png")], model_file, tmp_path / "exp", TranslateConfig(tile=tile))
    a = np.asarray(Image.open(eager.written[0]), dtype=np.float64)
    b = np.asarray(Image.open(exp.written[0]), dtype=np.float64)
    assert a.shape == b.shape == (97, 150, 3)
    psnr = 10 * np.log10(255.0**2 / max(np.mean((a - b) ** 2), 1e-12))
    assert psnr >= 35.0  # same weights; only tile borders of the fixed-size artifact differ


def test_bad_model_leaves_no_output_folder(tmp_path: Path) -> None:
    img = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(img)
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    with pytest.raises(Exception, match="bad.pt"):
        translate_files([str(img)], tmp_path / "bad.pt", tmp_path / "never", TranslateConfig())
    assert not (tmp_path / "never").exists()
