"""Distillation building blocks: taps, adapters, losses, student choice, warm start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers_distill import single_thread  # noqa: F401  (autouse fixture)
from helpers_distill import write_images

from mobilegan.distill.data import prepare_data
from mobilegan.distill.evaluate import GAP_DB, EvalReport, generalisation_gap
from mobilegan.distill.losses import gan_discriminator_loss, gan_generator_loss, output_loss
from mobilegan.distill.student import choose_student
from mobilegan.distill.taps import FeatureAdapters, TapPair, default_taps, map_block, parse_taps
from mobilegan.distill.warm_start import warm_start_blockers, warm_start_from_teacher
from mobilegan.errors import ConfigError
from mobilegan.models import DEFAULT_STUDENT, GeneratorConfig, build_model, create_model
from mobilegan.profile import profile_model


def _gen(**kw) -> torch.nn.Module:
    return build_model(GeneratorConfig(**{"ngf": 8, "n_blocks": 3, **kw}))


def test_block_mapping_is_proportional_and_in_range() -> None:
    mapped = [map_block(i, 8, 9) for i in range(1, 9)]
    assert mapped[-1] == 9 and len(set(mapped)) == 8 and mapped == sorted(mapped)
    assert all(abs(t / 9 - s / 8) <= 0.5 / 9 + 1e-9 for s, t in zip(range(1, 9), mapped))
    assert [map_block(i, 3, 9) for i in range(1, 4)] == [3, 6, 9]
    assert all(1 <= map_block(i, 9, 2) <= 2 for i in range(1, 10))


def test_default_taps_are_names_with_mapped_blocks() -> None:
    # A full-resolution student has every stage of the paper's layout, so every default tap applies.
    student, teacher = create_model("mobile_w025"), create_model("resnet_9blocks")
    taps = default_taps(student, teacher)
    assert taps[0] == TapPair("down2", "down2") and taps[-1] == TapPair("up1", "up1")
    blocks = taps[1:-1]
    assert [t.student for t in blocks] == ["block3", "block5"]
    assert [t.teacher for t in blocks] == [f"block{map_block(3, 8, 9)}", f"block{map_block(5, 8, 9)}"]
    # The space-to-depth default has no up1 stage (it returns from H/4 by PixelShuffle): no tap there.
    s2d = default_taps(create_model(DEFAULT_STUDENT), teacher)
    assert [t.student for t in s2d] == ["down2", "block3", "block5"]


def test_parse_taps_validates_names() -> None:
    s, t = _gen(n_blocks=2), _gen(n_blocks=4)
    assert parse_taps("down1, block2, up2", s, t) == [TapPair("down1", "down1"), TapPair("block2", "block4"), TapPair("up2", "up2")]
    assert parse_taps("block1:block3", s, t) == [TapPair("block1", "block3")]
    assert parse_taps("none", s, t) == []
    with pytest.raises(ConfigError, match="no stage 'block7'"):
        parse_taps("block7", s, t)
    with pytest.raises(ConfigError, match="listed twice"):
        parse_taps("up1,up1", s, t)


def test_adapters_map_widths_and_train_down_the_loss() -> None:
    torch.manual_seed(0)
    student, teacher = _gen(width=0.5, depthwise=True, norm="batch"), _gen(ngf=16).eval()
    taps = default_taps(student, teacher, n_block_taps=1)
    adapters = FeatureAdapters(taps, student, teacher)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        _, t_feats = teacher.forward_features(x)
    opt = torch.optim.Adam([*student.parameters(), *adapters.parameters()], lr=1e-2)
    losses = []
    for _ in range(15):
        _, s_feats = student.forward_features(x)
        loss = adapters(s_feats, t_feats)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert adapters.adapters["down2"].out_channels == teacher.feature_channels()["down2"]
    assert adapters.adapters["down2"].in_channels == student.feature_channels()["down2"]
    assert losses[-1] < 0.5 * losses[0]


def test_output_loss_l1_and_ssim() -> None:
    a = torch.zeros(1, 3, 16, 16)
    b = torch.full((1, 3, 16, 16), 0.5)
    assert float(output_loss(a, b)) == pytest.approx(0.5)
    assert float(output_loss(a, a, ssim_weight=1.0)) == pytest.approx(0.0, abs=1e-6)
    noisy = a + 0.3 * torch.randn_like(a)
    assert float(output_loss(a, noisy, ssim_weight=1.0)) > float(output_loss(a, noisy))


def test_lsgan_losses_point_the_right_way() -> None:
    disc = create_model("patchgan_70", ndf=8)
    real, fake = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    d_loss = gan_discriminator_loss(disc, real, fake)
    g_loss = gan_generator_loss(disc, fake)
    assert d_loss > 0 and g_loss > 0
    g_loss.backward()
    assert disc.head.weight.grad is not None


def test_target_macs_picks_the_widest_fitting_width() -> None:
    choice = choose_student(name="mobile_w025", target_macs=int(1.4e9), size=256)
    assert choice.config.width == 0.25  # mobile_w025 is the widest of its family under 1.4 G compat
    assert choice.profile.macs_compat <= 1.4e9
    wider = choose_student(name="mobile_w025", target_macs=int(3e9), size=256)
    assert wider.config.width > 0.25 and wider.profile.macs_compat <= 3e9
    one_step_wider = choose_student(name="mobile_w025", overrides={"width": wider.config.width + 0.125}, size=256)
    assert one_step_wider.profile.macs_compat > 3e9
    # MACs scale with H*W: the choice at 64 px is profiled exactly, not estimated
    small = choose_student(name="mobile_w025", target_macs=int(1.4e9 / 16), size=64)
    exact = profile_model(build_model(small.config), 64)
    assert small.profile.macs_compat == exact.macs_compat <= 1.4e9 / 16


def test_target_macs_errors() -> None:
    with pytest.raises(ConfigError, match="even width"):
        choose_student(target_macs=1000, size=256)
    with pytest.raises(ConfigError, match="do not also pass --width"):
        choose_student(overrides={"width": 0.5}, target_macs=int(1e9))
    with pytest.raises(ConfigError):
        choose_student(name="patchgan_70")


def test_warm_start_full_width_copies_the_teacher_exactly() -> None:
    torch.manual_seed(0)
    teacher = _gen(ngf=16, n_blocks=3).eval()
    student = _gen(ngf=16, n_blocks=3, padding="zero").eval()  # padding has no weights
    student_reflect = _gen(ngf=16, n_blocks=3).eval()
    assert warm_start_from_teacher(student_reflect, teacher).applied
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(student_reflect(x), teacher(x))
    assert warm_start_from_teacher(student, teacher).applied


def test_warm_start_keeps_highest_l1_channels() -> None:
    torch.manual_seed(1)
    teacher = _gen(ngf=16, n_blocks=2).eval()
    student = _gen(ngf=16, n_blocks=2, width=0.5).eval()
    report = warm_start_from_teacher(student, teacher)
    assert report.applied
    norms = teacher.stem.conv.weight.abs().flatten(1).sum(1)
    top = torch.sort(torch.topk(norms, 8).indices).values
    assert torch.equal(student.stem.conv.weight, teacher.stem.conv.weight[top])
    assert torch.equal(student.stem.conv.bias, teacher.stem.conv.bias[top])


def test_warm_start_refuses_depthwise_students() -> None:
    teacher = _gen(ngf=16)
    student = create_model(DEFAULT_STUDENT)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    report = warm_start_from_teacher(student, teacher)
    assert not report.applied and "depthwise" in report.reason
    assert all(torch.equal(before[k], v) for k, v in student.state_dict().items())
    assert warm_start_blockers(_gen(ngf=8), _gen(ngf=8, upsample="nearest_conv"))


def _report(held: float, extra: dict) -> EvalReport:
    return EvalReport(images=4, size=32, psnr_db=held, psnr_db_min=held - 2, ssim=0.9, teacher={}, student={},
                      ratios={}, extra=extra)


def test_a_student_much_better_on_its_training_images_is_called_out() -> None:
    memorised = generalisation_gap(_report(23.6, {"train_psnr_db": 30.6}))
    assert memorised is not None and "30.6 dB" in memorised and "23.6 dB" in memorised
    assert generalisation_gap(_report(31.9, {"train_psnr_db": 31.9 + GAP_DB - 0.1})) is None  # the sketch teacher's gap
    assert generalisation_gap(_report(23.6, {})) is None  # no training images scored (too few to hold out)


def test_training_images_are_scored_only_when_the_held_out_ones_are_not_training_images(tmp_path: Path) -> None:
    images = write_images(tmp_path / "A", 10)
    split = prepare_data(data_a=images, data_b=None, eval_data=None, size=32, holdout=8, seed=0, use_b=False)
    assert split.train_eval is not None and len(split.held_out) == 2 and len(split.train_eval) == 2
    held = {str(p) for p in split.held_out.files}
    assert held.isdisjoint(str(p) for p in split.train_eval.files)
    few = prepare_data(data_a=write_images(tmp_path / "B", 3), data_b=None, eval_data=None, size=32, holdout=8,
                       seed=0, use_b=False)
    assert few.train_eval is None  # held-out images fall back to training ones: nothing to compare
