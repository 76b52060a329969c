"""The student for InstanceNorm teachers (issue 22): per-image norms, still fast and exportable.

It must stay one XNNPACK segment in fp32 and int8, export with parity to every target (ExecuTorch,
ONNX, Core ML checked by the MIL reference interpreter), translate any photo size by tiles with
whole-image statistics, and be what ``mobilegan distill`` picks for an official InstanceNorm
checkpoint. Latency and fidelity goals live in BENCHMARKS.md ("Distilling InstanceNorm teachers").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from mobilegan.checkpoints import load_generator_checkpoint, save_generator
from mobilegan.inference.tiling import TileConfig, has_instance_norm, translate_tensor
from mobilegan.models import create_model, get_config
from mobilegan.models.config import INSTANCE_STUDENT
from mobilegan.models.layers import InstanceNormDecomposed

SIZE = 64


def _lively(model: nn.Module, size: int = SIZE) -> nn.Module:
    """BatchNorm statistics from random images, so a wrong op cannot hide behind a constant output."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return model.eval()


def _smooth(h: int, w: int, seed: int = 0) -> torch.Tensor:
    low = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False) * 2 - 1


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4.0 / ((a - b) ** 2).mean()))


def test_the_student_normalises_per_image_where_it_is_cheap() -> None:
    torch.manual_seed(0)
    cfg = get_config(INSTANCE_STUDENT)
    assert cfg.space_to_depth == 4 and cfg.depthwise  # every norm runs at H/4
    model = create_model(INSTANCE_STUDENT).eval()
    assert has_instance_norm(model)
    per_image = sum(isinstance(m, InstanceNormDecomposed) for m in model.modules())
    assert per_image == 1 + 2 * cfg.n_blocks  # entry conv and both pointwise convs of every block
    # What per-image statistics buy: like the teacher, the student hardly sees a global colour shift of
    # its input (not exactly: zero padding at the borders of its H/4 maps is not shifted with it).
    model = _lively(model)
    x, shift = _smooth(SIZE, SIZE), torch.tensor([0.3, -0.2, 0.1]).view(1, 3, 1, 1)
    with torch.no_grad():
        moved = (model(x) - model(x + shift)).abs().mean()
        bn = _lively(create_model("mobile_s2d4_w025").eval())
        bn_moved = (bn(x) - bn(x + shift)).abs().mean()
    assert moved < bn_moved / 3


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_xnnpack_takes_the_whole_graph(precision: str) -> None:
    pytest.importorskip("executorch")
    from mobilegan.export.executorch import build_program

    calib = torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    lowered = build_program(_lively(create_model(INSTANCE_STUDENT, n_blocks=2)), size=(SIZE, SIZE),
                            precision=precision, calib=calib)
    assert lowered.delegation.to_dict() == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exporter: ExecuTorch fp32 + int8, ONNX, Core ML fp16 (MIL reference check)."""
    from mobilegan.export.pipeline import export_model

    root = tmp_path_factory.mktemp("instance_student")
    torch.manual_seed(0)
    ckpt = save_generator(_lively(create_model(INSTANCE_STUDENT)), root / "student.pt")
    out = root / "out"
    export_model(ckpt, targets=["executorch", "onnx", "coreml"], out_dir=out, size=SIZE, quantize="int8")
    return out


@pytest.mark.parametrize("file_end,min_db", [("fp32.pte", 60), ("int8.pte", 30), ("fp32.onnx", 60)])
def test_exports_have_parity(exported: Path, file_end: str, min_db: float) -> None:
    card = json.loads((exported / "model.json").read_text())
    assert card["config"]["norm"] == "instance_decomposed" and card["config"]["dw_norm"] == "batch"
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


@pytest.mark.parametrize("stats_max_side", [1024, 128])
def test_tiles_give_the_whole_image_result(stats_max_side: int) -> None:
    """Tiles normalised with whole-image statistics (one pass when the image fits ``stats_max_side``,
    exact tiled passes otherwise) against one whole-image run."""
    torch.manual_seed(0)
    model = _lively(create_model(INSTANCE_STUDENT))
    x = _smooth(203, 257, seed=3)
    with torch.no_grad():
        whole = translate_tensor(model, x)
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
    assert result["taps"] == [] and result["eval"]["size"] == 32
    student = load_generator_checkpoint("run/student.pt")
    assert student.config.norm == "instance_decomposed" and student.meta["recipe"] == result["recipe"]
