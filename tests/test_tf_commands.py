"""Every command that takes a teacher takes a TF/Keras spec (issue 23): a TF-format checkpoint of the
keras.io CycleGAN picked with ``:gen_F`` (tests/fixtures/tf_tutorial/keras_io_2020, written by
tf-keras), a folder, a ``ckpt-N`` prefix. Tiny sizes; this checks the plumbing (paths that are not
files, ``PATH:NAME``), the maths is checked in test_tf_checkpoint.py."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import helpers_badinputs as bad
from mobilegan.cli.main import main

pytestmark = pytest.mark.slow  # distils and exports TensorFlow teachers: `make test` runs it, `make test-fast` does not

SPEC = str(Path(__file__).parent / "fixtures" / "tf_tutorial" / "keras_io_2020" / "cyclegan_checkpoints.001") + ":gen_F"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tfcmd")
    return {"gen": bad.tiny_generator(root), "images": bad.image_folder(root / "images", 2), "rgb": bad.rgb_png(root)}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


COMMANDS = {
    "profile": "profile {spec} --size 32",
    "distill --teacher": "distill --teacher {spec} --data-a {images} --size 32 --steps 1 --batch-size 1 --holdout 0 "
                         "--no-progress --out {out}",
    "export": "export {spec} --target onnx --size 32 --out {out}",
    "translate --model": "translate {rgb} --model {spec} --out {out}",
    "bench": "bench {spec} --size 32 --runs 1 --warmup 0 --threads 1",
    "bench --teacher": "bench {gen} --teacher {spec} --size 32 --runs 1 --warmup 0 --threads 1",
    "eval --teacher": "eval --teacher {spec} --student {gen} --data {images} --size 32 --out {out}",
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_takes_a_tf_spec(command: str, files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [part.format(spec=SPEC, out=out, **files) for part in shlex.split(COMMANDS[command])]
    assert main(argv) == 0
    if command == "export":
        card = json.loads((out / "model.json").read_text())
        assert card["name"] == "cyclegan_checkpoints_gen_F" and card["source"]["layout"] == "keras_resnet"
    if command == "distill --teacher":
        assert (out / "student.pt").is_file()


@pytest.mark.parametrize("fixture,side", [("instancenorm", 256), ("batchnorm_tfkeras2", 64)])
def test_tf_tutorial_unet_distills_and_exports_with_parity(fixture: str, side: int, files: dict[str, Path],
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The TF tutorial's U-Net, from the folder TensorFlow wrote (its ``checkpoint`` file names the latest):
    distill picks whole-image targets at a side the U-Net takes, and the teacher exports with parity
    (one XNNPACK segment, ONNX); the card says which layout and range the teacher had in TensorFlow."""
    folder = str(Path(__file__).parent / "fixtures" / "tf_tutorial" / fixture)
    assert main(["distill", "--teacher", folder, "--data-a", str(files["images"]), "--size", "32", "--eval-size",
                 str(side), "--steps", "1", "--batch-size", "1", "--holdout", "0", "--n-blocks", "1",
                 "--no-progress", "--out", "run", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["teacher_layout"] == "tf_unet" and "U-Net" in result["recipe"]
    assert main(["export", folder, "--target", "executorch", "--target", "onnx", "--size", str(side),
                 "--out", "exp"]) == 0
    card = json.loads(Path("exp/model.json").read_text())
    assert card["source"]["framework_io"]["layout"] == "NHWC"
    for art in card["artifacts"]:
        assert art["input"]["layout"] == "NCHW" and art["parity"]["psnr_db"] >= 60, art
        if art["file"].endswith(".pte"):
            assert art["delegation"] == {"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}}
    assert main(["export", "run/student.pt", "--target", "onnx", "--size", "32", "--out", "sexp"]) == 0
    student_card = json.loads(Path("sexp/model.json").read_text())
    assert student_card["source"]["teacher_layout"] == "tf_unet"
