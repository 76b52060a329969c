"""U-Net teachers (issue 23): the official pytorch-CycleGAN-and-pix2pix ``UnetGenerator`` loads exactly
(every norm, dropout, legacy InstanceNorm keys, the BatchNorm test-time pitfall), and everything
downstream takes it: profile, distill, export with parity, translate, eval.

The reference network (tests/helpers_foreign.py) is written from the official layout with its
in-place activations, independently of mobilegan's module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers_foreign import OfficialUnetGenerator, randomize_norm_stats, with_legacy_instance_stats
from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.distill.recipe import plan_recipe
from mobilegan.distill.taps import default_taps
from mobilegan.errors import CheckpointError, ConfigError
from mobilegan.models import create_model, get_config
from mobilegan.models.config import INSTANCE_STUDENT, batch_norm_kind, generator_config_from_dict
from mobilegan.models.unet import UnetGenerator
from mobilegan.models.unet_config import UnetConfig
from mobilegan.profile import count_params, profile_model, receptive_field
from mobilegan.utils.atomic import atomic_torch_save

LEVELS = 5  # 32 px inputs: fast everywhere


def _images(n: int, side: int, seed: int = 0) -> torch.Tensor:
    low = torch.rand(n, 3, side // 8, side // 8, generator=torch.Generator().manual_seed(seed))
    return nn.functional.interpolate(low, size=(side, side), mode="bilinear", align_corners=False) * 2 - 1


def _reference(norm: str, *, levels: int = LEVELS, dropout: bool = False, seed: int = 0) -> OfficialUnetGenerator:
    torch.manual_seed(seed)
    ref = OfficialUnetGenerator(levels, 4, norm=norm, dropout=dropout)
    randomize_norm_stats(ref, seed)
    return ref


def _official_test_output(ref: nn.Module, x: torch.Tensor, *, eval_mode: bool) -> torch.Tensor:
    """What the official test.py computes, one image at a time (batch 1), dropout off: eval mode with
    --eval; otherwise BatchNorm in training mode, i.e. each image's own statistics."""
    ref.train(not eval_mode)
    for m in ref.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    state = {k: v.clone() for k, v in ref.state_dict().items()}
    with torch.no_grad():
        out = torch.cat([ref(x[i : i + 1]) for i in range(len(x))])
    ref.load_state_dict(state)  # train-mode BatchNorm updated its running stats: undo
    return out


@pytest.mark.parametrize("norm,levels,dropout", [("instance", 5, False), ("instance", 7, True), ("batch", 6, True),
                                                 ("none", 5, False)])
def test_official_unet_loads_bit_exactly(tmp_path: Path, norm: str, levels: int, dropout: bool) -> None:
    ref = _reference(norm, levels=levels, dropout=dropout)
    state = with_legacy_instance_stats(ref) if norm == "instance" else ref.state_dict()
    path = atomic_torch_save({f"module.{k}": v for k, v in state.items()}, tmp_path / "latest_net_G.pth")
    x = _images(3, 2**levels)
    for stats, eval_mode in (("image", False), ("running", True)):
        loaded = load_generator_checkpoint(path, batch_stats=stats)
        assert loaded.layout == "official_unet" and isinstance(loaded.model, UnetGenerator)
        cfg = loaded.config
        want = batch_norm_kind(stats) if norm == "batch" else norm
        assert (cfg.num_downs, cfg.ngf, cfg.norm, cfg.layout) == (levels, 4, want, "official")
        with torch.no_grad():
            ours = loaded.model(x)
        assert torch.equal(ours, _official_test_output(ref, x, eval_mode=eval_mode)), (norm, stats)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_written_official_unets_load_into_the_official_network(norm: str) -> None:
    from mobilegan.checkpoints.foreign_write import to_foreign_state_dict
    from mobilegan.checkpoints.foreign_unet import convert_official_unet

    ref = _reference(norm, levels=6)
    ours = UnetGenerator(convert_official_unet(ref.state_dict(), batch_stats="running").config)
    ours.load_state_dict(convert_official_unet(ref.state_dict(), batch_stats="running").state_dict)
    written = to_foreign_state_dict(ours, "official")
    assert set(written) == set(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert torch.equal(written[key], value), key


def test_batchnorm_unet_defaults_to_what_official_test_py_shows(tmp_path: Path) -> None:
    """Without --eval the official test.py normalises each image with its own statistics; with stored
    statistics the picture differs, so the default matters."""
    ref = _reference("batch")
    path = atomic_torch_save(ref.state_dict(), tmp_path / "latest_net_G.pth")
    x = _images(2, 32, seed=1)
    default = load_generator_checkpoint(path)
    running = load_generator_checkpoint(path, batch_stats="running")
    assert default.config.norm == "batch_image" and default.config.normalises_per_image
    assert running.config.norm == "batch" and not running.config.normalises_per_image
    with torch.no_grad():
        assert (default.model(x) - running.model(x)).abs().max() > 1e-2
        assert torch.equal(default.model(x), _official_test_output(ref, x, eval_mode=False))


def test_the_paper_sizes_match_the_official_parameter_counts() -> None:
    for name, levels in (("unet_128", 7), ("unet_256", 8)):
        ours = create_model(name)
        assert count_params(ours) == count_params(OfficialUnetGenerator(levels, 64))
    # The TF tutorial's generator: the same widths, InstanceNorm with scale and offset, no biases but the last.
    tf = get_config("unet_256_tf")
    assert (tf.layout, tf.norm, tf.conv_bias) == ("tf", "instance_affine", False)
    assert count_params(create_model("unet_256")) - count_params(create_model("unet_256_tf")) < 0.001 * 54e6


def test_unet_presets_build_and_run_at_their_size() -> None:
    from mobilegan.models import list_models

    names = list_models("generator", arch="unet")
    assert set(names) == {"unet_128", "unet_256", "unet_256_tf"}
    for name in names:
        model = create_model(name, ngf=2)
        side = model.size_multiple
        x = _images(1, side)
        out, feats = model.forward_features(x)
        assert out.shape == x.shape and out.abs().max() <= 1
        assert list(feats) == model.feature_names()
        for key, ch in model.feature_channels().items():
            assert feats[key].shape[1] == ch, key
        assert feats["down2"].shape[-1] == side // 4 and feats["up1"].shape[-1] == side // 2
        ep = torch.export.export(model.eval(), (x,))
        torch.testing.assert_close(ep.module()(x), model(x), atol=1e-5, rtol=1e-5)


def test_config_round_trips_and_dispatches() -> None:
    cfg = UnetConfig(num_downs=6, ngf=8, norm="batch_image")
    assert generator_config_from_dict(cfg.to_dict()) == cfg
    assert generator_config_from_dict(get_config("mobile_s2d4_w025").to_dict()) == get_config("mobile_s2d4_w025")
    with pytest.raises(ConfigError):
        UnetConfig(num_downs=1)
    with pytest.raises(ConfigError):
        UnetConfig(norm="sometimes")  # type: ignore[arg-type]


def test_profile_counts_and_refuses_sides_it_cannot_take() -> None:
    model = create_model("unet_128", ngf=8)
    prof = profile_model(model, 128)
    assert prof.params == count_params(model) and prof.macs > 0
    assert receptive_field(model) > 128  # the innermost level sees more than the whole input
    with pytest.raises(ConfigError, match="multiples of 128"):
        profile_model(model, 96)


def test_tf_layout_differs_from_official_with_the_same_weights() -> None:
    official = create_model("unet_128", ngf=4, num_downs=5, norm="instance_affine", conv_bias=False)
    tf = UnetGenerator(official.config.with_overrides(layout="tf"))
    with torch.no_grad():
        for p in official.parameters():
            p.normal_(0, 0.3)
        missing = tf.load_state_dict(official.state_dict(), strict=False).missing_keys
        assert missing == ["downs.4.norm.weight", "downs.4.norm.bias"]  # TF normalises its innermost level too
        x = _images(1, 32)
        assert (official(x) - tf(x)).abs().max() > 1e-2  # activation placement and skip order matter


def test_recipe_and_taps_for_a_unet_teacher() -> None:
    teacher = create_model("unet_128", ngf=8)
    recipe = plan_recipe(teacher.config, student=None, student_overrides={}, targets="auto", size=64, eval_size=256,
                         batch_size=16)
    assert recipe.student == INSTANCE_STUDENT and recipe.targets.kind == "whole" and recipe.targets.side == 256
    assert "U-Net" in recipe.reason
    with pytest.raises(ConfigError, match="--eval-size 128"):
        plan_recipe(teacher.config, student=None, student_overrides={}, targets="auto", size=64, eval_size=200,
                    batch_size=16)
    student = create_model("mobile_s2d2_w025")
    taps = [(t.student, t.teacher) for t in default_taps(student, teacher)]
    assert taps == [("down2", "down2"), ("block8", "up2"), ("up1", "up1")]
    s_feats = student.forward_features(_images(1, 128))[1]
    t_feats = teacher.forward_features(_images(1, 128))[1]
    for s_name, t_name in taps:  # paired stages lie at the same resolution
        assert s_feats[s_name].shape[-2:] == t_feats[t_name].shape[-2:]


def test_a_unet_preset_is_no_student() -> None:
    from mobilegan.distill.student import choose_student

    with pytest.raises(ConfigError, match="teacher preset"):
        choose_student(name="unet_128", overrides={}, target_macs=None, size=128)


def test_non_generator_files_get_one_line(tmp_path: Path) -> None:
    ref = _reference("instance")
    state = ref.state_dict()
    broken = {k: v for k, v in state.items() if not k.startswith("model.model.3")}  # the last up conv is gone
    path = atomic_torch_save(broken, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="no up conv"):
        load_generator_checkpoint(path)
    bad = dict(state)
    bad["model.model.1.model.9.weight"] = torch.zeros(4, 4, 4, 4)
    with pytest.raises(CheckpointError, match="index 9"):
        load_generator_checkpoint(atomic_torch_save(bad, tmp_path / "bad.pth"))


@pytest.mark.slow
def test_cli_distills_exports_translates_and_evaluates_a_unet_teacher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from helpers_distill import write_images
    from mobilegan.cli.main import main

    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    teacher = atomic_torch_save(_reference("batch", levels=5).state_dict(), tmp_path / "latest_net_G.pth")
    images = write_images(tmp_path / "A", 6, side=48)
    rc = main(["distill", "--teacher", str(teacher), "--data-a", str(images), "--size", "16", "--eval-size", "32",
               "--batch-size", "4", "--steps", "2", "--n-blocks", "1", "--out", "run", "--no-progress", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert "U-Net" in result["recipe"] and "whole image at 32 px" in result["recipe"]
    assert result["teacher_config"]["arch"] == "unet" and result["teacher_config"]["norm"] == "batch_image"

    # The teacher itself exports with parity: ExecuTorch fp32 in one XNNPACK segment, ONNX, Core ML
    # (checked by the MIL reference interpreter).
    assert main(["export", str(teacher), "--target", "executorch", "--target", "onnx", "--target", "coreml",
                 "--size", "32", "--out", "exp"]) == 0
    card = json.loads(Path("exp/model.json").read_text())
    assert card["config"]["arch"] == "unet"
    assert {a["target"] for a in card["artifacts"]} == {"executorch", "onnx", "coreml"}
    for art in card["artifacts"]:
        assert art["parity"]["psnr_db"] >= art["parity"].get("threshold_db", 60), art
        if art["file"].endswith(".pte"):
            assert art["delegation"] == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}
    assert main(["export", str(teacher), "--target", "onnx", "--size", "36", "--out", "exp2"]) == 2

    # translate: any photo size, padded to the U-Net's multiple and cropped back; eval checks the side.
    odd = write_images(tmp_path / "odd", 1, side=45)
    assert main(["translate", str(odd), "--model", str(teacher), "--out", "tr"]) == 0
    from PIL import Image

    assert Image.open(next(Path("tr").iterdir())).size == (45, 45)
    assert main(["eval", "--teacher", str(teacher), "--student", "run/student.pt", "--data", str(images),
                 "--size", "32", "--out", "ev"]) == 0
    assert main(["eval", "--teacher", str(teacher), "--student", "run/student.pt", "--data", str(images),
                 "--size", "36", "--out", "ev2"]) == 2
