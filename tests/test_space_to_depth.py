"""Space-to-depth students (issue 16): PixelUnshuffle in, PixelShuffle out, no full-resolution conv.

Shapes, stage names shared with the paper's teacher (taps), MAC counts by hand, the global skip,
checkpoints, --target-macs, and every exporter: ExecuTorch XNNPACK fp32 + int8 as one delegated
segment, ONNX Runtime and the Core ML reference interpreter matching eager.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers_models import lively
from helpers_export import one_int8_range_policy
from mobilegan.checkpoints import load_generator, save_generator
from mobilegan.distill.student import choose_student
from mobilegan.distill.taps import FeatureAdapters, default_taps, parse_taps
from mobilegan.distill.warm_start import warm_start_blockers
from mobilegan.errors import ConfigError
from mobilegan.models import GeneratorConfig, build_model, create_model, get_config, list_models
from mobilegan.profile import profile_model, receptive_field

S2D = [n for n in list_models("generator", arch="resnet") if get_config(n).space_to_depth > 1]
# Local ones: every output pixel depends on a window of the input only. The students for InstanceNorm
# teachers also read the whole image (context branch, per-image norms): tests/test_context_student.py.
LOCAL_S2D = [n for n in S2D if not get_config(n).context and get_config(n).norm == "batch" and not get_config(n).dw_norm]
SIZE = 32


def _lively(model: nn.Module, size: int = SIZE) -> nn.Module:
    return lively(model, size)


def test_registry_has_both_factors() -> None:
    assert {get_config(n).space_to_depth for n in S2D} == {2, 4}
    assert "mobile_s2d2_w025" in S2D and "mobile_s2d4_w025" in S2D


def test_config_validates_and_old_dicts_default_to_the_paper_layout() -> None:
    with pytest.raises(ConfigError, match="space_to_depth"):
        GeneratorConfig(space_to_depth=3)
    with pytest.raises(ConfigError, match="integer"):
        GeneratorConfig(space_to_depth=2.0)  # type: ignore[arg-type]
    old = GeneratorConfig().to_dict()
    del old["space_to_depth"]
    assert GeneratorConfig.from_dict(old).space_to_depth == 1
    cfg = get_config("mobile_s2d4_w025")
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("name", LOCAL_S2D)
def test_no_convolution_runs_at_full_resolution(name: str) -> None:
    prof = profile_model(create_model(name), 64)
    assert prof.layers
    assert all(layer.out_shape[-1] <= 32 and layer.in_shape[-1] <= 32 for layer in prof.layers), name


@pytest.mark.parametrize(("factor", "expected"), [(2, 570_425_344), (4, 532_676_608)])
def test_real_macs_by_hand(factor: int, expected: int) -> None:
    """Width 0.25 (c2 = 32, c4 = 64), 8 depthwise blocks, 256 px; matches the issue's probe."""
    blocks = 8 * 2 * (64 * 9 + 64 * 64) * 64 * 64  # dw 3x3 + pw 1x1, twice per block, at 64x64
    if factor == 2:
        entry = 128 * 128 * 12 * 32 * 9  # 3x3 conv on the unshuffled 12 channels at 128x128
        down = 64 * 64 * 32 * 64 * 9
        up = 64 * 64 * 64 * 32 * 9  # transposed conv: every input pixel scattered once per tap
        head = 128 * 128 * 32 * 12 * 9
        hand = entry + down + blocks + up + head
    else:
        hand = 64 * 64 * 48 * 64 * 9 + blocks + 64 * 64 * 64 * 48 * 9
    assert hand == expected
    prof = profile_model(create_model(f"mobile_s2d{factor}_w025"), 256)
    assert prof.macs == expected
    # the papers' convention charges the transposed conv per output pixel (4x at stride 2)
    assert prof.macs_compat == expected + (3 * 64 * 64 * 64 * 32 * 9 if factor == 2 else 0)


@pytest.mark.parametrize("name", S2D)
def test_stage_resolutions_match_the_teacher_names(name: str) -> None:
    student, teacher = create_model(name).eval(), create_model("resnet_6blocks", ngf=8).eval()
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    _, s_feats = student.forward_features(x)
    _, t_feats = teacher.forward_features(x)
    assert "stem" not in s_feats and "up2" not in s_feats
    for key, feat in s_feats.items():
        assert feat.shape[-2:] == t_feats[key if not key.startswith("block") else "block1"].shape[-2:], key
    taps = default_taps(student, teacher)
    assert [t.student for t in taps][0] == "down2"
    assert ("up1" in [t.student for t in taps]) == (get_config(name).space_to_depth == 2)
    loss = FeatureAdapters(taps, student, teacher)(s_feats, t_feats)
    assert torch.isfinite(loss) and loss > 0
    with pytest.raises(ConfigError, match="no stage 'stem'"):
        parse_taps("stem", student, teacher)


@pytest.mark.parametrize("name", LOCAL_S2D)
def test_receptive_field_is_exact(name: str) -> None:
    model = _lively(create_model(name, n_blocks=2))
    widest = 0
    for phase in range(4):  # output pixels at every offset inside a 4x4 fold
        x = (torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(phase)) * 2 - 1).requires_grad_()
        model(x)[0, 0, 48 + phase, 48 + phase].backward()
        rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero()
        widest = max(widest, int(rows.max() - rows.min() + 1))
    assert receptive_field(model) == widest


@pytest.mark.parametrize("name", LOCAL_S2D)
def test_translate_tiles_equal_a_whole_image_run(name: str) -> None:
    """Tiles start on multiples of 4, so every tile folds pixels with the whole image's phase."""
    from mobilegan.inference.tiling import TileConfig, plan_tiles, run_tiled

    torch.manual_seed(0)
    model = _lively(create_model(name, n_blocks=2))
    plan = plan_tiles(TileConfig(tile=128), receptive_field(model))
    assert plan.exact
    x = torch.rand(1, 3, 208, 264) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(run_tiled(model, x, plan), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("factor", [2, 4])
def test_global_skip_adds_the_input(factor: int) -> None:
    """output = clamp(input + tanh(head), -1, 1): the same weights without the skip give tanh(head)."""
    torch.manual_seed(0)
    model = _lively(create_model(f"mobile_s2d{factor}_w025", global_skip=True, n_blocks=1))
    plain = build_model(model.config.with_overrides(global_skip=False)).eval()
    plain.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(x), (x + plain(x)).clamp(-1, 1))
        assert not torch.allclose(model(x), plain(x))
        nn.init.zeros_(model.head.conv.weight)
        nn.init.zeros_(model.head.conv.bias)
        torch.testing.assert_close(model(x), x)  # a zero head is the identity


@pytest.mark.parametrize("name", S2D)
def test_checkpoint_round_trip(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _lively(create_model(name, global_skip=True))
    loaded = load_generator(save_generator(model, tmp_path / "s.pt")).eval()
    assert loaded.config == model.config and loaded.config.space_to_depth == get_config(name).space_to_depth
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    torch.testing.assert_close(loaded(x), model(x))


def test_target_macs_keeps_the_family() -> None:
    choice = choose_student(name="mobile_s2d2_w025", target_macs=1_500_000_000, size=256)
    assert choice.config.space_to_depth == 2 and choice.profile.macs_compat <= 1_500_000_000
    wider = choice.config.with_overrides(width=choice.config.width + 0.125)
    assert profile_model(build_model(wider), 256).macs_compat > 1_500_000_000  # the widest that fits
    assert "space-to-depth 2" in choice.describe()


def test_warm_start_is_refused_with_a_reason() -> None:
    student = create_model("mobile_s2d2_w025", depthwise=False)
    problems = warm_start_blockers(student, create_model("resnet_6blocks", ngf=8))
    assert any("space-to-depth" in p for p in problems)


@pytest.mark.slow
def test_coreml_min_ios15_is_a_one_line_error() -> None:
    """``pixel_unshuffle`` is an iOS 16 MIL op (the default target): iOS 15 is refused, saying so."""
    pytest.importorskip("coremltools")
    from mobilegan.export.coreml import CoreMLExportError, CoreMLOptions, convert_program, export_program

    program = export_program(create_model("mobile_s2d2_w025", n_blocks=1).eval(), (SIZE, SIZE))
    with pytest.raises(CoreMLExportError, match="pixel_unshuffle.*iOS16") as info:
        convert_program(program, size=(SIZE, SIZE), options=CoreMLOptions(precision="fp32", min_ios=15))
    assert "\n" not in str(info.value)
    convert_program(program, size=(SIZE, SIZE), options=CoreMLOptions(precision="fp32", min_ios=16))


@pytest.mark.parametrize("name", ["mobile_s2d4_w025"])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.slow
def test_xnnpack_one_segment(name: str, precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("executorch")
    from mobilegan.export.executorch import build_program

    one_int8_range_policy(monkeypatch)  # the int8 export fixture below sweeps them all

    calib = torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    lowered = build_program(_lively(create_model(name, n_blocks=2, global_skip=True)), size=(SIZE, SIZE),
                            precision=precision, calib=calib)
    assert lowered.delegation.to_dict() == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


@pytest.fixture(scope="module")
def s2d2_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exporter on a space-to-depth-2 student with a global skip: ExecuTorch fp32 + int8, ONNX.

    Two residual blocks, not the preset's eight: lowering time grows with the graph, and the blocks
    are all alike (what gets delegated and how parity holds is the same)."""
    from mobilegan.export.pipeline import export_model

    root = tmp_path_factory.mktemp("s2d2")
    torch.manual_seed(0)
    student = _lively(create_model("mobile_s2d2_w025", global_skip=True, n_blocks=2), 64)
    ckpt = save_generator(student, root / "student.pt")
    out = root / "out"
    export_model(ckpt, targets=["executorch", "onnx", "coreml"], out_dir=out, size=64, quantize="int8")
    return out


@pytest.mark.parametrize("file_end,min_db", [("fp32.pte", 60), ("int8.pte", 30), ("fp32.onnx", 60)])
@pytest.mark.slow
def test_exports_have_parity(s2d2_export: Path, file_end: str, min_db: float) -> None:
    card = json.loads((s2d2_export / "model.json").read_text())
    assert card["config"]["space_to_depth"] == 2 and card["config"]["global_skip"] is True
    art = next(a for a in card["artifacts"] if a["file"].endswith(file_end))
    assert art["parity"]["psnr_db"] >= min_db, art["parity"]
    if file_end.endswith(".pte"):
        assert art["delegation"] == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}


@pytest.mark.slow
def test_coreml_artifact_is_checked(s2d2_export: Path) -> None:
    card = json.loads((s2d2_export / "model.json").read_text())
    arts = [a for a in card["artifacts"] if a["target"] == "coreml"]
    assert arts, [a["file"] for a in card["artifacts"]]
    for art in arts:  # fp16, run by the MIL reference interpreter (Core ML itself needs Apple hardware)
        assert art["precision"] == "fp16" and art["parity"]["psnr_db"] >= art["parity"]["threshold_db"], art["parity"]


@pytest.mark.slow
def test_distill_cli_switch_and_inherited_global_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--space-to-depth 4`` over the default preset, from a teacher with a global skip (as the demo's)."""
    from helpers_distill import write_images
    from mobilegan.checkpoints import load_generator_checkpoint
    from mobilegan.cli.main import main

    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    teacher = save_generator(build_model(GeneratorConfig(ngf=8, n_blocks=2, norm="none", global_skip=True)),
                             tmp_path / "teacher.pt")
    images = write_images(tmp_path / "A", 6)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "32", "--steps", "3",
               "--n-blocks", "2", "--space-to-depth", "4", "--out", "run", "--no-progress"])
    assert rc == 0
    assert "space-to-depth 4" in capsys.readouterr().out
    cfg = load_generator_checkpoint("run/student.pt").config
    assert cfg.space_to_depth == 4 and cfg.global_skip and cfg.n_blocks == 2


def test_profile_cli_names_the_fold(capsys: pytest.CaptureFixture[str]) -> None:
    from mobilegan.cli.main import main

    assert main(["profile", "mobile_s2d4_w025", "--size", "256"]) == 0
    out = capsys.readouterr().out
    assert "stage widths 64," in out and "space-to-depth 4" in out and "532,676,608" in out


@pytest.mark.parametrize("name", ["mobile_s2d2_w025", "mobile_s2d4_w025"])
@pytest.mark.slow
def test_executorch_coreml_delegate_takes_the_whole_graph(name: str, tmp_path: Path) -> None:
    """The ExecuTorch Core ML delegate (lowered here, runs only on Apple devices): one segment, nothing outside."""
    pytest.importorskip("coremltools")
    from mobilegan.export.coreml import CoreMLOptions
    from mobilegan.export.executorch_coreml import check_pte, export_executorch_coreml

    torch.manual_seed(0)
    lowered = export_executorch_coreml(create_model(name, n_blocks=1, global_skip=True), tmp_path / "m.pte",
                                       size=(SIZE, SIZE), options=CoreMLOptions(precision="fp16"))
    assert lowered.delegation["segments"] == 1 and not lowered.delegation["undelegated_ops"], lowered.delegation
    assert check_pte(lowered.path.read_bytes()) == {"CoreMLBackend": 1}
