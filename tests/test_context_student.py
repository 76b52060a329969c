"""The student for InstanceNorm teachers (issue 22): image-wide context, still fast and exportable.

The context branch must start as the plain local student, change a crop's output when the rest of
its photo changes, stay one XNNPACK segment in fp32 and int8, export with parity to every target
(ExecuTorch, ONNX, Core ML checked by the MIL reference interpreter), translate any photo size by
tiles with the whole photo's context, and be what ``mobilegan distill`` picks for an official
InstanceNorm checkpoint. Per-image InstanceNorm models (teachers, ``mobile_s2d4_w025_in``) tile
exactly too. Latency and fidelity goals live in BENCHMARKS.md ("Distilling InstanceNorm teachers").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers_models import lively, trained_context
from helpers_export import one_int8_range_policy
from mobilegan.checkpoints import load_generator_checkpoint, save_generator
from mobilegan.inference.tiling import TileConfig, translate_tensor
from mobilegan.models import create_model, get_config
from mobilegan.models.config import INSTANCE_STUDENT

pytestmark = pytest.mark.slow  # exports to every target and distils: `make test` runs it, `make test-fast` does not

SIZE = 64


def _lively(model: nn.Module, size: int = SIZE) -> nn.Module:
    """Random statistics, a context branch that drives the blocks and a measured context clamp (the
    exports must carry both: the parity inputs, random noise, fall partly outside the clamp)."""
    return trained_context(lively(model, size), size)


def _smooth(h: int, w: int, seed: int = 0) -> torch.Tensor:
    low = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False) * 2 - 1


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4.0 / ((a - b) ** 2).mean()))


def test_the_context_starts_neutral_and_carries_the_whole_image() -> None:
    torch.manual_seed(0)
    cfg = get_config(INSTANCE_STUDENT)
    assert cfg.space_to_depth == 4 and cfg.depthwise and cfg.norm == "batch" and cfg.context > 0
    student = lively(create_model(INSTANCE_STUDENT), SIZE)  # as built: FiLM convs at zero
    plain = lively(create_model("mobile_s2d4_w025"), SIZE)
    plain.load_state_dict({k: v for k, v in student.state_dict().items() if not k.startswith("context.")})
    x = _smooth(SIZE, SIZE)
    with torch.no_grad():
        assert (student(x) - plain(x)).abs().max() < 1e-6  # FiLM starts at scale 1, shift 0
        for conv in (*student.context.scale, *student.context.shift):  # a trained branch
            conv.weight.normal_(0, 0.2)
        crop = x[..., :32, :32]
        own = student(crop)  # context from the crop alone
        from_whole = student.forward_features(crop, context_image=x)[0]
        assert (own - from_whole).abs().max() > 1e-3  # the rest of the photo changes the crop's output
        film = student.context_film(x)
        assert torch.equal(student(x, film=film), student(x))


@pytest.mark.parametrize("name", [INSTANCE_STUDENT, "mobile_s2d4_w025_ctx64"])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_xnnpack_takes_the_whole_graph(name: str, precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("executorch")
    from mobilegan.export.executorch import build_program

    one_int8_range_policy(monkeypatch)  # the int8 export fixture below sweeps them all

    calib = torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    lowered = build_program(_lively(create_model(name, n_blocks=2)), size=(SIZE, SIZE),
                            precision=precision, calib=calib)
    assert lowered.delegation.to_dict() == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exporter: ExecuTorch fp32 + int8, ONNX, Core ML fp16 (MIL reference check).

    Two residual blocks, not the preset's eight: lowering time grows with the graph, and the blocks
    are all alike (the context branch, what gets delegated and how parity holds are the same)."""
    from mobilegan.export.pipeline import export_model

    root = tmp_path_factory.mktemp("instance_student")
    torch.manual_seed(0)
    ckpt = save_generator(_lively(create_model(INSTANCE_STUDENT, n_blocks=2)), root / "student.pt")
    out = root / "out"
    export_model(ckpt, targets=["executorch", "onnx", "coreml"], out_dir=out, size=SIZE, quantize="int8")
    return out


@pytest.mark.parametrize("file_end,min_db", [("fp32.pte", 60), ("int8.pte", 30), ("fp32.onnx", 60)])
def test_exports_have_parity(exported: Path, file_end: str, min_db: float) -> None:
    card = json.loads((exported / "model.json").read_text())
    assert card["config"]["context"] > 0
    art = next(a for a in card["artifacts"] if a["file"].endswith(file_end))
    assert art["parity"]["psnr_db"] >= min_db, art["parity"]
    if file_end.endswith(".pte"):
        assert art["delegation"] == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


def test_coreml_package_is_checked(exported: Path) -> None:
    card = json.loads((exported / "model.json").read_text())
    arts = [a for a in card["artifacts"] if a["target"] == "coreml"]
    assert arts
    for art in arts:
        assert art["parity"]["psnr_db"] >= art["parity"]["threshold_db"], art["parity"]


@pytest.mark.parametrize("name,stats_max_side", [(INSTANCE_STUDENT, 1024), ("mobile_s2d4_w025_in", 1024),
                                                 ("mobile_s2d4_w025_in", 128)])
def test_tiles_give_the_whole_image_result(name: str, stats_max_side: int) -> None:
    """Tiles against one whole-image run: a context student gets the whole image's context, read at
    the image's own resolution; a per-image InstanceNorm model its statistics (one pass when the image fits ``stats_max_side``, exact tiled
    passes otherwise)."""
    torch.manual_seed(0)
    model = _lively(create_model(name))
    if name == INSTANCE_STUDENT:
        with torch.no_grad():
            for conv in (*model.context.scale, *model.context.shift):
                conv.weight.normal_(0, 0.2)
    x = _smooth(232, 328, seed=3)  # larger than the 256 px squared it would train at
    with torch.no_grad():
        whole = model(x)  # one pass: the context (or the statistics) of the photo at its own resolution
        tiled = translate_tensor(model, x, TileConfig(tile=192, stats_max_side=stats_max_side))
    assert tiled.shape == whole.shape == x.shape
    assert _psnr(whole, tiled) >= 60  # the issue asks for 40 dB; both ways are exact up to float rounding


def test_distill_picks_it_for_an_official_instance_norm_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from helpers_distill import write_images, write_teacher
    from mobilegan.cli.main import main

    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    teacher = write_teacher(tmp_path / "latest_net_G_A.pth", "official")
    images = write_images(tmp_path / "A", 6, side=48)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "16", "--eval-size", "32",
               "--batch-size", "8", "--steps", "2", "--n-blocks", "1", "--out", "run", "--no-progress", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert f"student {INSTANCE_STUDENT}" in result["recipe"] and "whole image at 32 px" in result["recipe"]
    assert "16 px crops" in result["recipe"]
    assert result["taps"] == [] and result["eval"]["size"] == 32
    student = load_generator_checkpoint("run/student.pt")
    assert student.config.context > 0 and student.meta["recipe"] == result["recipe"]
    lo, hi = student.model.context.range_lo, student.model.context.range_hi  # measured on the training photos
    assert torch.all(lo <= hi) and lo.abs().max() < 100 and hi.abs().max() < 100


def test_a_fixed_size_file_tiles_a_larger_photo_each_tile_with_its_own_context(exported: Path) -> None:
    """A context student's .pte on a photo larger than its input: tiles, each reading its own context
    (the whole photo resized to the input would blur it: BENCHMARKS.md, issue 22)."""
    from mobilegan.checkpoints import load_generator_checkpoint
    from mobilegan.inference.exported import ExportedRunner
    from mobilegan.inference.tiling import pad_to_multiple, plan_tiles, run_tiled

    runner = ExportedRunner(next(exported.glob("*_fp32.pte")))
    assert runner.own_context and not runner.per_image_norm and runner.size == SIZE
    model = load_generator_checkpoint(exported.parent / "student.pt").model.eval()
    x = _smooth(SIZE + SIZE // 2, 2 * SIZE, seed=5)
    padded, (h, w) = pad_to_multiple(x)
    with torch.no_grad():
        got = runner(x, TileConfig())
        # the eager model, tile by tile on the same plan, each tile with its own context
        own = run_tiled(model, padded, plan_tiles(TileConfig(), runner.receptive_field, tile=SIZE))[..., :h, :w]
        small = torch.nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True)
        resized = torch.nn.functional.interpolate(model(small), size=(h, w), mode="bilinear")
    assert _psnr(own, got) >= 40
    assert _psnr(resized, got) < _psnr(own, got) - 10  # not the resize-the-whole-photo path


def test_a_dynamic_size_onnx_gives_the_checkpoints_whole_photo_result(tmp_path: Path) -> None:
    """An ONNX exported with --dynamic-size runs a photo larger than the tile whole, so its context is
    the whole photo's, exactly what the checkpoint computes (tiles with their own contexts would not)."""
    from mobilegan.export.pipeline import export_model
    from mobilegan.inference.exported import ExportedRunner

    torch.manual_seed(0)
    model = _lively(create_model(INSTANCE_STUDENT, n_blocks=2))
    with torch.no_grad():
        for conv in (*model.context.scale, *model.context.shift):  # a trained branch
            conv.weight.normal_(0, 0.2)
    ckpt = save_generator(model, tmp_path / "student.pt")
    export_model(ckpt, targets=["onnx"], out_dir=tmp_path / "out", size=SIZE, dynamic_size=True)
    runner = ExportedRunner(next((tmp_path / "out").glob("*.onnx")))
    assert runner.size is None and runner.own_context
    x = _smooth(3 * SIZE // 2, 2 * SIZE, seed=7)
    tiles = TileConfig(tile=SIZE)  # smaller than the photo
    with torch.no_grad():
        expected = load_generator_checkpoint(ckpt).model.eval()(x)  # one whole pass of the checkpoint
        got = runner(x, tiles)
    assert got.shape == x.shape
    assert _psnr(expected, got) >= 60
