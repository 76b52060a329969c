"""The bad-input matrix: every command against every kind of bad (or odd) input.

One table, one test. Each row either succeeds correctly (inputs the tool must convert: RGBA,
grayscale, 16-bit, CMYK, 1x1, .safetensors) or exits non-zero with exactly one ``error:`` line
naming the problem: no traceback, no "internal error", and nothing partial left in the output
folder. Commands run in-process through ``mobilegan.cli.main.main`` (fast); a few rows are
repeated in real subprocesses in test_reliability_subprocess.py.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from PIL import Image

import helpers_badinputs as bad
from mobilegan.checkpoints import load_generator
from mobilegan.cli.main import main

# Tiny settings shared by the rows (32 px, one step, the smallest models).
TRAIN = "--generator resnet_6blocks --ngf 8 --n-blocks 1 --ndf 8 --size 32 --steps 1 --device cpu --no-progress " \
        "--sample-every 0"
DISTILL = "--size 32 --steps 1 --batch-size 1 --holdout 0 --device cpu --no-progress --student mobile_w0125 " \
          "--n-blocks 1 --sample-every 0"
EVAL = "--size 32 --device cpu"
EXPORT = "--target executorch --size 32"


@dataclass(frozen=True)
class Ok:
    """Exit 0; ``check`` names a verification of the outputs (see ``_check_ok``)."""

    check: str
    warns: str | None = None  # a per-file warning that must name the skipped file


@dataclass(frozen=True)
class Fails:
    """Non-zero exit and one ``error:`` line containing ``says`` (case-insensitive)."""

    says: str


@dataclass(frozen=True)
class Skips:
    """Per-file commands (translate): non-zero exit, each bad file named with the reason."""

    file: str
    says: str


# (id, command line, expectation). {placeholders} are paths from the `world` fixture; {out} is a
# fresh output folder per row.
MATRIX: list[tuple[str, str, Ok | Fails | Skips]] = [
    # profile
    ("profile-missing", "profile {missing_pt} --size 32", Fails("no such file")),
    ("profile-folder-as-file", "profile {images} --size 32", Fails("is a folder")),
    ("profile-evil-pickle", "profile {evil} --size 32", Fails("refused to load")),
    ("profile-evil-plain-pickle", "profile {evil_plain} --size 32", Fails("refused to load")),
    ("profile-discriminator", "profile {disc} --size 32", Fails("discriminator checkpoint, not a generator")),
    ("profile-optimizer", "profile {optim} --size 32", Fails("optimizer state")),
    ("profile-random-pickle", "profile {random_pickle} --size 32", Fails("refused to load")),
    ("profile-random-bytes", "profile {noise} --size 32", Fails("refused to load")),
    ("profile-text", "profile {text_ckpt} --size 32", Fails("not a pytorch checkpoint")),
    ("profile-image-as-checkpoint", "profile {rgb} --size 32", Fails("refused to load")),
    ("profile-unknown-model", "profile no_such_model --size 32", Fails("unknown model 'no_such_model'")),
    ("profile-size-30", "profile mobile_w0125 --size 30", Fails("multiple of 4")),
    ("profile-size-0", "profile mobile_w0125 --size 0", Fails("multiple of 4")),
    ("profile-size-4-too-small", "profile resnet_9blocks --size 4", Fails("at least 8")),
    ("profile-safetensors", "profile {gen_st} --size 32 --json", Ok("profile_json")),
    # train
    ("train-missing-folder", "train --data-a {missing_dir} --data-b {images} " + TRAIN + " --out {out}",
     Fails("no such folder")),
    ("train-file-as-folder", "train --data-a {rgb} --data-b {images} " + TRAIN + " --out {out}", Fails("not a folder")),
    ("train-empty-folder", "train --data-a {empty} --data-b {images} " + TRAIN + " --out {out}", Fails("no images found")),
    ("train-only-broken-images", "train --data-a {only_broken} --data-b {images} " + TRAIN + " --out {out}",
     Fails("could be read")),
    ("train-out-is-a-file", "train --data-a {images} --data-b {images} " + TRAIN + " --out {rgb}",
     Fails("not a folder")),
    ("train-zero-steps", "train --data-a {images} --data-b {images} " + TRAIN + " --out {out} --steps 0",
     Fails("positive integer")),
    ("train-negative-steps", "train --data-a {images} --data-b {images} " + TRAIN + " --out {out} --steps -3",
     Fails("positive integer")),
    ("train-size-30", "train --data-a {images} --data-b {images} " + TRAIN + " --out {out} --size 30",
     Fails("multiple of 4")),
    ("train-unknown-generator", "train --data-a {images} --data-b {images} " + TRAIN + " --out {out} --generator nope",
     Fails("unknown model 'nope'")),
    ("train-unknown-device", "train --data-a {images} --data-b {images} " + TRAIN + " --out {out} --device tpu",
     Fails("unknown --device")),
    ("train-odd-images", "train --data-a {odd} --data-b {one_px} " + TRAIN + " --out {out}", Ok("train")),
    ("train-corrupt-jpeg-among-good", "train --data-a {with_corrupt} --data-b {images} " + TRAIN + " --out {out}",
     Ok("train", warns="corrupt.jpg")),
    ("train-bomb-among-good", "train --data-a {with_bomb} --data-b {images} " + TRAIN + " --out {out}",
     Ok("train", warns="bomb.png")),
    ("train-truncated-among-good", "train --data-a {with_truncated} --data-b {images} " + TRAIN + " --out {out}",
     Ok("train", warns="truncated.png")),
    # distill
    ("distill-teacher-missing", "distill --teacher {missing_pt} --data-a {images} " + DISTILL + " --out {out}",
     Fails("no such file")),
    ("distill-teacher-folder", "distill --teacher {images} --data-a {images} " + DISTILL + " --out {out}",
     Fails("is a folder")),
    ("distill-teacher-evil", "distill --teacher {evil} --data-a {images} " + DISTILL + " --out {out}",
     Fails("refused to load")),
    ("distill-teacher-discriminator", "distill --teacher {disc} --data-a {images} " + DISTILL + " --out {out}",
     Fails("not a generator")),
    ("distill-teacher-optimizer", "distill --teacher {optim} --data-a {images} " + DISTILL + " --out {out}",
     Fails("optimizer state")),
    ("distill-teacher-text", "distill --teacher {text_ckpt} --data-a {images} " + DISTILL + " --out {out}",
     Fails("not a pytorch checkpoint")),
    ("distill-data-empty", "distill --teacher {gen} --data-a {empty} " + DISTILL + " --out {out}",
     Fails("no images found")),
    ("distill-data-is-file", "distill --teacher {gen} --data-a {rgb} " + DISTILL + " --out {out}", Fails("not a folder")),
    ("distill-unknown-student", "distill --teacher {gen} --data-a {images} " + DISTILL + " --out {out} --student nope",
     Fails("unknown model 'nope'")),
    ("distill-zero-steps", "distill --teacher {gen} --data-a {images} " + DISTILL + " --out {out} --steps 0",
     Fails("positive integer")),
    ("distill-size-30", "distill --teacher {gen} --data-a {images} " + DISTILL + " --out {out} --size 30",
     Fails("multiple of 4")),
    ("distill-unknown-norm", "distill --teacher {gen} --data-a {images} " + DISTILL + " --out {out} --norm bogus",
     Fails("invalid choice")),
    ("distill-safetensors-odd-images", "distill --teacher {gen_st} --data-a {odd} " + DISTILL + " --out {out}",
     Ok("distill")),
    ("distill-corrupt-among-good", "distill --teacher {gen} --data-a {with_corrupt} " + DISTILL + " --out {out}",
     Ok("distill", warns="corrupt.jpg")),
    # export
    ("export-missing", "export {missing_pt} " + EXPORT + " --out {out}", Fails("no such checkpoint file")),
    ("export-folder-as-checkpoint", "export {images} " + EXPORT + " --out {out}", Fails("no such checkpoint file")),
    ("export-evil", "export {evil} " + EXPORT + " --out {out}", Fails("refused to load")),
    ("export-optimizer", "export {optim} " + EXPORT + " --out {out}", Fails("optimizer state")),
    ("export-discriminator", "export {disc} " + EXPORT + " --out {out}", Fails("not a generator")),
    ("export-random-pickle", "export {random_pickle} " + EXPORT + " --out {out}", Fails("refused to load")),
    ("export-unknown-target", "export {gen} --target nope --size 32 --out {out}", Fails("unknown export target 'nope'")),
    ("export-size-30", "export {gen} " + EXPORT + " --out {out} --size 30", Fails("multiple of 4")),
    ("export-out-is-a-file", "export {gen} " + EXPORT + " --out {rgb}", Fails("not a folder")),
    ("export-calib-empty", "export {gen} " + EXPORT + " --out {out} --quantize int8 --calib-data {empty}",
     Fails("no images found")),
    ("export-unknown-quantize", "export {gen} " + EXPORT + " --out {out} --quantize int4", Fails("invalid choice")),
    # verify
    ("verify-missing", "verify {missing_dir}", Fails("no model card")),
    ("verify-empty-folder", "verify {empty}", Fails("no model card")),
    ("verify-file-not-folder", "verify {gen}", Fails("no model card")),
    ("verify-corrupt-card", "verify {bad_card}", Fails("not readable json")),
    # bench
    ("bench-missing", "bench {missing_pt} --size 32 --runs 1 --warmup 0 --threads 1", Fails("no such file")),
    ("bench-empty-folder", "bench {empty} --size 32 --runs 1 --warmup 0 --threads 1", Fails("no model.json")),
    ("bench-evil", "bench {evil} --size 32 --runs 1 --warmup 0 --threads 1", Fails("refused to load")),
    ("bench-optimizer", "bench {optim} --size 32 --runs 1 --warmup 0 --threads 1", Fails("optimizer state")),
    ("bench-zero-runs", "bench {gen} --size 32 --runs 0", Fails("positive integer")),
    ("bench-size-30", "bench {gen} --size 30", Fails("multiple of 4")),
    # translate
    ("translate-model-missing", "translate {rgb} --model {missing_pt} --out {out}", Fails("no such")),
    ("translate-model-folder", "translate {rgb} --model {images} --out {out}", Fails("is a folder")),
    ("translate-model-evil", "translate {rgb} --model {evil} --out {out}", Fails("refused to load")),
    ("translate-model-discriminator", "translate {rgb} --model {disc} --out {out}", Fails("not a generator")),
    ("translate-model-optimizer", "translate {rgb} --model {optim} --out {out}", Fails("optimizer state")),
    ("translate-mlpackage-on-linux", "translate {rgb} --model {mlpackage} --out {out}", Fails("macos")),
    ("translate-input-missing", "translate {missing_png} --model {gen} --out {out}", Fails("no such file")),
    ("translate-input-empty-folder", "translate {empty} --model {gen} --out {out}", Fails("no image files")),
    ("translate-out-is-a-file", "translate {rgb} --model {gen} --out {gen}", Fails("not a folder")),
    ("translate-size-30", "translate {rgb} --model {gen} --out {out} --size 30", Fails("multiple of 4")),
    ("translate-corrupt-jpeg", "translate {corrupt} --model {gen} --out {out}", Skips("corrupt.jpg", "corrupt")),
    ("translate-truncated-png", "translate {truncated} --model {gen} --out {out}", Skips("truncated.png", "truncated")),
    ("translate-bomb", "translate {bomb} --model {gen} --out {out}", Skips("bomb.png", "decompression bomb")),
    ("translate-text-as-image", "translate {text_img} --model {gen} --out {out}", Skips("notes.jpg", "not an image")),
    ("translate-odd-images", "translate {odd} {one_px} --model {gen_st} --out {out}", Ok("translate")),
    # eval
    ("eval-student-evil", "eval --teacher {gen} --student {evil} --data {images} " + EVAL + " --out {out}",
     Fails("refused to load")),
    ("eval-teacher-optimizer", "eval --teacher {optim} --student {gen} --data {images} " + EVAL + " --out {out}",
     Fails("optimizer state")),
    ("eval-data-empty", "eval --teacher {gen} --student {gen} --data {empty} " + EVAL + " --out {out}",
     Fails("no images found")),
    ("eval-data-is-file", "eval --teacher {gen} --student {gen} --data {rgb} " + EVAL + " --out {out}",
     Fails("not a folder")),
    ("eval-only-broken", "eval --teacher {gen} --student {gen} --data {only_broken} " + EVAL + " --out {out}",
     Fails("could be read")),
    ("eval-size-30", "eval --teacher {gen} --student {gen} --data {images} --size 30 --out {out}",
     Fails("multiple of 4")),
    ("eval-odd-images", "eval --teacher {gen} --student {gen_st} --data {odd} " + EVAL + " --out {out}", Ok("eval")),
    # report
    ("report-missing", "report {missing_dir}", Fails("no such folder")),
    ("report-file-not-folder", "report {gen}", Fails("not a folder")),
    ("report-empty-folder", "report {empty} --out {out}/report.html", Fails("nothing to report")),
    # demo (argument and output checks only: a real demo takes minutes)
    ("demo-out-is-a-file", "demo --quick --out {rgb}", Fails("not a folder")),
    ("demo-export-size-30", "demo --quick --out {out} --export-size 30", Fails("multiple of 4")),
    ("demo-zero-steps", "demo --quick --out {out} --distill-steps 0", Fails("positive integer")),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input the rows refer to, built once (a few KB in all)."""
    root = tmp_path_factory.mktemp("inputs")
    files = root / "files"
    files.mkdir()
    paths: dict[str, Path] = {
        "rgb": bad.rgb_png(files),
        "corrupt": bad.corrupt_jpeg(files),
        "truncated": bad.truncated_png(files),
        "bomb": bad.bomb_png(files),
        "text_img": bad.text_as_image(files),
        "evil": bad.evil_pickle(files, root / "pwned_evil"),
        "evil_plain": bad.evil_plain_pickle(files, root / "pwned_plain"),
        "random_pickle": bad.random_pickle(files),
        "noise": bad.random_bytes(files),
        "text_ckpt": bad.text_checkpoint(files),
        "disc": bad.discriminator_checkpoint(files),
        "optim": bad.optimizer_state(files),
        "gen": bad.tiny_generator(files),
        "gen_st": bad.tiny_generator(files, safetensors=True),
        "missing_pt": files / "no_such.pt",
        "missing_png": files / "no_such.png",
        "missing_dir": root / "no_such_folder",
        "images": bad.image_folder(root / "images"),
        "empty": root / "empty",
        "mlpackage": root / "student.mlpackage",
        "bad_card": root / "bad_card",
    }
    paths["empty"].mkdir()
    paths["mlpackage"].mkdir()  # as an unpacked package looks: a folder
    paths["bad_card"].mkdir()
    (paths["bad_card"] / "model.json").write_text("{not json")
    odd = root / "odd"
    odd.mkdir()
    for make in (bad.rgba_png, bad.grayscale_png, bad.png_16bit, bad.cmyk_jpeg):
        make(odd)
    paths["odd"] = odd
    one = root / "one_px"
    one.mkdir()
    bad.one_pixel_png(one)
    paths["one_px"] = one
    for name, make in (("with_corrupt", bad.corrupt_jpeg), ("with_bomb", bad.bomb_png),
                       ("with_truncated", bad.truncated_png)):
        paths[name] = bad.image_folder(root / name, 2)
        make(paths[name])
    only = root / "only_broken"
    only.mkdir()
    bad.corrupt_jpeg(only)
    bad.truncated_png(only)
    paths["only_broken"] = only
    return paths


@pytest.fixture(autouse=True)
def one_thread_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # distill/export record runs/latest.json relative to here
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


def _problem_lines(stderr: str) -> list[str]:
    """stderr lines without progress bars (tqdm redraws with carriage returns)."""
    lines = []
    for raw in stderr.replace("\r", "\n").splitlines():
        if raw.strip() and "%|" not in raw:
            lines.append(raw)
    return lines


def _files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _check_ok(check: str, out: Path, stdout: str, world: dict[str, Path]) -> None:
    if check == "profile_json":
        report = json.loads(stdout)
        params = sum(p.numel() for p in load_generator(world["gen_st"]).parameters())
        assert report["params"] == params
    elif check == "train":
        for name in ("G_AB.pt", "G_BA.pt"):
            g = load_generator(out / name)
            y = g(torch.rand(1, 3, 32, 32) * 2 - 1)
            assert y.shape == (1, 3, 32, 32) and torch.isfinite(y).all()
    elif check == "distill":
        student = load_generator(out / "student.pt")
        assert torch.isfinite(student(torch.zeros(1, 3, 32, 32))).all()
    elif check == "translate":
        inputs = sorted(world["odd"].iterdir()) + sorted(world["one_px"].iterdir())
        for src in inputs:
            dest = out / src.name
            assert dest.is_file(), f"no output for {src.name}: {_files_under(out)}"
            with Image.open(src) as a, Image.open(dest) as b:
                assert b.size == a.size and b.mode == "RGB", (src.name, a.size, b.size, b.mode)
    elif check == "eval":
        report = json.loads((out / "eval.json").read_text())
        assert report, "empty eval.json"
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(f"unknown check {check!r}")


@pytest.mark.parametrize("case_id, line, expect", MATRIX, ids=[row[0] for row in MATRIX])
def test_bad_input_matrix(case_id: str, line: str, expect: Ok | Fails | Skips, world: dict[str, Path],
                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = [part.format(out=out, **world) for part in shlex.split(line)]
    before = {name: _files_under(p) for name, p in world.items() if p.is_dir()}
    rc = _run(argv)
    captured = capsys.readouterr()
    lines = _problem_lines(captured.err)
    assert "Traceback" not in captured.err, captured.err
    assert "internal error" not in captured.err, captured.err
    command = argv[0]

    if isinstance(expect, Ok):
        assert rc == 0, f"{case_id}: rc {rc}: {captured.err[-1500:]}"
        _check_ok(expect.check, out, captured.out, world)
        if expect.warns:
            assert any(expect.warns in x for x in lines), f"{case_id}: no warning naming {expect.warns}: {lines}"
    else:
        assert rc != 0, f"{case_id}: succeeded but should have failed: {captured.out[-500:]}"
        errors = [x for x in lines if x.startswith(f"mobilegan {command}: error")]
        if isinstance(expect, Fails):
            assert len(errors) == 1, f"{case_id}: expected one error line, got {lines}"
            assert expect.says.lower() in errors[0].lower(), f"{case_id}: {errors[0]!r} lacks {expect.says!r}"
            assert "\n" not in errors[0]
        else:
            # translate names each skipped file (stderr while running, stdout in its summary)
            named = [x for x in lines + captured.out.splitlines() if expect.file in x]
            assert named and expect.says.lower() in named[0].lower(), f"{case_id}: {lines}"
        assert _files_under(out) == [], f"{case_id}: left files behind: {_files_under(out)}"
    # Inputs are never modified, and nothing anywhere holds a temporary file.
    assert before == {name: _files_under(p) for name, p in world.items() if p.is_dir()}, case_id
    assert bad.leftovers(out) == [] and bad.leftovers(world["rgb"].parent) == []
    assert not (world["evil"].parent.parent / "pwned_evil").exists()
    assert not (world["evil"].parent.parent / "pwned_plain").exists()


# --- the same through real processes: nothing but one line reaches the terminal ----------------------

SUBPROCESS_ROWS: list[tuple[str, str, str]] = [
    ("profile-evil-pickle", "profile {evil} --size 32", "refused to load"),
    ("train-empty-folder", "train --data-a {empty} --data-b {images} " + TRAIN + " --out {out}", "no images found"),
    ("export-out-is-a-file", "export {gen} " + EXPORT + " --out {rgb}", "not a folder"),
    ("translate-mlpackage-on-linux", "translate {rgb} --model {mlpackage} --out {out}", "macos"),
    ("translate-coreml-pte-on-linux", "translate {rgb} --model {coreml_pte} --out {out}", "apple devices"),
]


@pytest.fixture(scope="module")
def coreml_pte(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ExecuTorch program delegated to Core ML: it exports on Linux but can only run on Apple devices."""
    from mobilegan.export.pipeline import export_model

    out = tmp_path_factory.mktemp("coreml_pte")
    card = export_model(world["gen"], targets=["executorch-coreml"], out_dir=out, size=16)
    (artifact,) = [a for a in card.artifacts if a["file"].endswith(".pte")]
    return out / artifact["file"]


@pytest.mark.slow
def test_errors_reach_the_terminal_as_one_line_in_real_processes(world: dict[str, Path], coreml_pte: Path,
                                                                  tmp_path: Path) -> None:
    import subprocess
    import sys

    from helpers_train import cli_env

    procs = []
    for case_id, line, _ in SUBPROCESS_ROWS:  # all at once: process start-up dominates
        out = tmp_path / case_id
        argv = [p.format(out=out, coreml_pte=coreml_pte, **world) for p in shlex.split(line)]
        procs.append(subprocess.Popen([sys.executable, "-m", "mobilegan", *argv], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=cli_env()))
    for (case_id, line, says), proc in zip(SUBPROCESS_ROWS, procs):
        _, err = proc.communicate(timeout=300)
        command = line.split()[0]
        assert proc.returncode == 2, f"{case_id}: rc {proc.returncode}: {err[-1500:]}"
        assert "Traceback" not in err, f"{case_id}: {err[-3000:]}"
        ours = [x for x in err.splitlines() if x.startswith("mobilegan ")]
        assert len(ours) == 1 and ours[0].startswith(f"mobilegan {command}: error: "), f"{case_id}: {err[-1500:]}"
        assert says in ours[0].lower(), f"{case_id}: {ours[0]}"
        assert _files_under(tmp_path / case_id) == [], case_id
