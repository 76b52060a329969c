"""`mobilegan train` end to end (tiny), exact resume, refusal to overwrite, and the machinery's parts."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from helpers_train import TINY_MODEL, make_domains, tiny_config
from mobilegan.checkpoints import load_generator, load_generator_checkpoint, read_checkpoint_file
from mobilegan.cli.main import main
from mobilegan.errors import CheckpointError, ConfigError
from mobilegan.train import (
    ImagePool,
    linear_decay_factor,
    load_training_state,
    read_metrics,
    split_steps,
    train_cyclegan,
)
from mobilegan.train.cyclegan import CycleGANTask


@pytest.fixture(autouse=True)
def _one_thread() -> object:
    # Two intra-op threads on a shared 2-core machine spin and run ~10x slower for these tiny nets.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_cli_trains_20_steps_and_g_ab_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_domains(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--data-a", str(tmp_path / "A"), "--data-b", str(tmp_path / "B"), "--size", "32",
               "--steps", "20", "--out", str(out), "--sample-every", "10", "--device", "cpu", "--no-progress",
               *TINY_MODEL])
    assert rc == 0
    assert "trained 20 steps" in capsys.readouterr().out
    loaded = load_generator_checkpoint(out / "G_AB.pt")
    assert loaded.config.ngf == 8 and loaded.meta["steps"] == 20 and loaded.meta["direction"] == "A->B"
    assert "mobilegan train" in loaded.meta["command"]
    y = load_generator(out / "G_BA.pt")(torch.zeros(1, 3, 32, 32))
    assert y.shape == (1, 3, 32, 32) and torch.isfinite(y).all()
    state = read_checkpoint_file(out / "train_state.pt")  # weights_only=True
    assert state["kind"] == "training_state" and state["state_dict"]["step"] == 20
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [10, 20]
    grid = Image.open(out / "samples" / "step_000020.png")
    assert grid.height > 6 * 32 and grid.width >= 3 * 32  # 4 A rows + 3 B rows (num_samples 3 each: 6 rows)
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000010.png", "step_000020.png"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(CheckpointError, match="not a generator"):
        load_generator(out / "train_state.pt")


def test_existing_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, tmp_path / "run", steps=1)
    train_cyclegan(cfg)
    before = (tmp_path / "run" / "train_state.pt").read_bytes()
    with pytest.raises(ConfigError, match="--resume"):
        train_cyclegan(cfg)
    assert (tmp_path / "run" / "train_state.pt").read_bytes() == before
    with pytest.raises(ConfigError, match="no train_state.pt"):
        train_cyclegan(replace(cfg, out=str(tmp_path / "other"), resume=True))
    with pytest.raises(ConfigError, match="different settings.*seed"):
        train_cyclegan(replace(cfg, resume=True, seed=3))


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    total, cut = 7, 3
    ref = train_cyclegan(tiny_config(tmp_path, tmp_path / "ref", steps=total))
    assert ref.steps == total and not ref.interrupted

    # Second run: a SIGTERM arrives during step `cut`; the loop saves after that step and returns.
    original = CycleGANTask.train_step

    def step_then_signal(self: CycleGANTask, batch: dict, step: int) -> dict[str, float]:
        metrics = original(self, batch, step)
        if step == cut - 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return metrics

    monkeypatch.setattr(CycleGANTask, "train_step", step_then_signal)
    cfg = tiny_config(tmp_path, tmp_path / "cut", steps=total)
    first = train_cyclegan(cfg)
    monkeypatch.setattr(CycleGANTask, "train_step", original)
    assert first.interrupted and first.steps == cut
    assert load_training_state(tmp_path / "cut" / "train_state.pt")[0]["step"] == cut
    second = train_cyclegan(replace(cfg, resume=True))
    assert second.start_step == cut and second.steps == total

    ref_metrics = read_metrics(tmp_path / "ref" / "metrics.jsonl")
    cut_metrics = read_metrics(tmp_path / "cut" / "metrics.jsonl")
    assert [r["step"] for r in cut_metrics] == list(range(1, total + 1))
    assert cut_metrics == ref_metrics  # every loss of every step, bit for bit
    g_ref, g_cut = load_generator(tmp_path / "ref" / "G_AB.pt"), load_generator(tmp_path / "cut" / "G_AB.pt")
    for (k, a), (_, b) in zip(g_ref.state_dict().items(), g_cut.state_dict().items()):
        assert torch.equal(a, b), k


def test_no_identity_and_argument_validation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = train_cyclegan(tiny_config(tmp_path, tmp_path / "noid", steps=1, lambda_identity=0.0))
    assert "idt_A" not in res.last_metrics and "cycle_A" in res.last_metrics
    with pytest.raises(ConfigError):
        tiny_config(tmp_path, tmp_path / "x", steps=0)
    with pytest.raises(ConfigError, match="batch-size 1"):
        tiny_config(tmp_path, tmp_path / "x", preprocess="none", batch_size=2)
    a, b = str(tmp_path / "A"), str(tmp_path / "B")
    assert main(["train", "--data-a", a, "--data-b", b, "--out", str(tmp_path / "y"), "--generator", "patchgan_70"]) == 2
    assert main(["train", "--data-a", a, "--out", str(tmp_path / "y")]) == 2
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "y")]) == 2  # no trainA/trainB
    err = capsys.readouterr().err
    assert "not a generator" in err and "--data-b" in err and "trainA" in err
    with pytest.raises(SystemExit):
        main(["train", "--data-a", a, "--data-b", b, "--out", "z", "--steps", "0"])


def test_data_root_layout_uses_test_images_for_samples(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    make_domains(root)
    for src, dst in (("A", "trainA"), ("B", "trainB")):
        (root / src).rename(root / dst)
    (root / "testA").mkdir()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(root / "testA" / "red.png")
    out = tmp_path / "run"
    assert main(["train", "--data", str(root), "--size", "32", "--steps", "2", "--out", str(out), "--device", "cpu",
                 "--no-progress", *TINY_MODEL]) == 0
    grid = Image.open(out / "samples" / "step_000002.png").convert("RGB")
    assert grid.getpixel((5, 5)) == (255, 0, 0)  # first row starts with the red test image
    assert grid.height == 32 * 4 + 2 * 3  # 1 testA row + 3 trainB rows (no testB)


def test_linear_decay_schedule() -> None:
    f = [linear_decay_factor(s, constant_steps=3, decay_steps=4) for s in range(8)]
    assert f[:3] == [1.0, 1.0, 1.0]
    assert f[3:] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    assert split_steps(10, epochs=100, epochs_decay=100) == (5, 5)
    assert split_steps(9, epochs=1, epochs_decay=2) == (3, 6)


def test_image_pool_fills_then_swaps_and_round_trips() -> None:
    pool = ImagePool(2, seed=0)
    x = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(x[:2]), x[:2])  # filling: returns the input
    outs = {float(pool.query(torch.full((1, 1, 1, 1), 10.0 + i))) for i in range(20)}
    assert outs & {0.0, 1.0} and any(v >= 10 for v in outs)  # both old and new images come back
    twin = ImagePool(2, seed=99)
    twin.load_state_dict(pool.state_dict())
    q = torch.full((1, 1, 1, 1), 50.0)
    assert [float(pool.query(q + i)) for i in range(5)] == [float(twin.query(q + i)) for i in range(5)]
    assert torch.equal(ImagePool(0).query(x), x)


def test_cpu_amp_bfloat16_trains_and_saves_float32(tmp_path: Path) -> None:
    res = train_cyclegan(tiny_config(tmp_path, tmp_path / "amp", steps=2, amp=True))
    assert res.steps == 2 and all(torch.isfinite(torch.tensor(v)) for v in res.last_metrics.values())
    weights = load_generator(tmp_path / "amp" / "G_AB.pt").state_dict()
    assert all(t.dtype == torch.float32 for t in weights.values())


def test_resume_with_more_steps_recomputes_the_schedule(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_config(tmp_path, tmp_path / "run", steps=4)
    train_cyclegan(cfg)
    with pytest.raises(ConfigError, match="steps: 4 -> 3 \\(--steps may only grow\\)"):
        train_cyclegan(replace(cfg, resume=True, steps=3))
    with pytest.raises(ConfigError, match="different settings.*size"):
        train_cyclegan(replace(cfg, resume=True, steps=6, size=40))  # real mismatches are still refused
    with caplog.at_level("INFO", logger="mobilegan.train.runner"):
        more = train_cyclegan(replace(cfg, resume=True, steps=6))
    assert more.start_step == 4 and more.steps == more.total_steps == 6
    assert [r.message for r in caplog.records].count(
        "extending the run from 4 to 6 steps: learning-rate schedule recomputed for the new total "
        "(3 constant, 3 decaying)") == 1
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in logged] == list(range(1, 7))
    constant, decay = split_steps(6, epochs=cfg.epochs, epochs_decay=cfg.epochs_decay)
    for record in logged[4:]:  # the resumed steps follow the 6-step schedule from their first step on
        step = record["step"] - 1
        assert record["lr"] == pytest.approx(cfg.lr * linear_decay_factor(step, constant_steps=constant,
                                                                           decay_steps=decay))
    assert load_generator_checkpoint(tmp_path / "run" / "G_AB.pt").meta["total_steps"] == 6
    assert load_training_state(tmp_path / "run" / "train_state.pt")[1]["steps"] == 6


def test_interrupted_cli_run_prints_a_command_that_continues_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import shlex

    make_domains(tmp_path)
    original = CycleGANTask.train_step

    def step_then_signal(self: CycleGANTask, batch: dict, step: int) -> dict[str, float]:
        metrics = original(self, batch, step)
        if step == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return metrics

    monkeypatch.setattr(CycleGANTask, "train_step", step_then_signal)
    argv = ["train", "--data-a", str(tmp_path / "A"), "--data-b", str(tmp_path / "B"), "--size", "32", "--steps", "4",
            "--out", str(tmp_path / "run"), "--sample-every", "0", "--device", "cpu", "--no-progress", *TINY_MODEL]
    assert main(argv) == 130
    line = next(x for x in capsys.readouterr().out.splitlines() if "continue with: " in x)
    again = shlex.split(line.split("continue with: ", 1)[1])
    assert again[:2] == ["mobilegan", "train"] and "--resume" in again
    monkeypatch.setattr(CycleGANTask, "train_step", original)
    assert main(again[1:]) == 0  # the printed command alone finishes the run
    assert load_training_state(tmp_path / "run" / "train_state.pt")[0]["step"] == 4
