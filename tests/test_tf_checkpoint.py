"""TensorFlow CycleGAN tutorial checkpoints (issue 23), read without TensorFlow.

The fixtures in tests/fixtures/tf_tutorial/ were written by TensorFlow 2.21 itself
(scripts/make_tf_fixtures.py): the tutorial's tf.train.Checkpoint + CheckpointManager bundle of a
width-reduced tutorial U-Net CycleGAN, with TensorFlow's own outputs of generator_g and
generator_f on a reference image. ``instancenorm`` is the tutorial (Keras 3 object graph, 8
levels, 256 px; outputs stored as uint16, at most half a step = 1.53e-5 off TF's float32);
``batchnorm_tfkeras2`` is norm_type='batchnorm' written by tf-keras (the Keras 2 object graph of
TF <= 2.15), 6 levels, 64 px, float32 outputs.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.checkpoints.tf_bundle import TensorBundle
from mobilegan.checkpoints.tf_checkpoint import read_tf_checkpoint, split_selector
from mobilegan.checkpoints.tf_loader import is_tf_or_keras
from mobilegan.errors import CheckpointError
from mobilegan.models.unet import UnetGenerator

FIXTURES = Path(__file__).parent / "fixtures" / "tf_tutorial"
VARIANTS = ("instancenorm", "batchnorm_tfkeras2")
TOLERANCE = 1e-4


def _reference(folder: Path, which: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(model input NHWC float32, TF output NHWC, tolerance on the stored output)."""
    image = np.load(folder / "input.npy")
    x = image.astype(np.float32) / np.float32(127.5) - np.float32(1.0)  # the tutorial's normalize()
    ref = np.load(folder / f"output_{which}.npy")
    if ref.dtype == np.uint16:  # quantised: subtract the worst quantisation error from the budget
        return x, ref.astype(np.float64) / 65535.0 * 2.0 - 1.0, TOLERANCE - 1.0 / 65535.0
    return x, ref.astype(np.float64), TOLERANCE


def _run_nhwc(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).double().numpy()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("which", ["g", "f"])
def test_tutorial_checkpoint_matches_tensorflow(variant: str, which: str) -> None:
    folder = FIXTURES / variant
    meta = json.loads((folder / "meta.json").read_text())
    spec = f"{folder}/{meta['checkpoint']}.index:generator_{which}"
    loaded = load_generator_checkpoint(spec)
    assert isinstance(loaded.model, UnetGenerator) and not loaded.model.training
    assert loaded.layout == "tf_unet"
    cfg = loaded.config
    assert (cfg.num_downs, cfg.layout, cfg.leaky_slope) == (meta["downs"], "tf", 0.3)
    assert cfg.norm == ("batch" if meta["norm_type"] == "batchnorm" else "instance_affine")
    assert cfg.norm_eps == (1e-3 if meta["norm_type"] == "batchnorm" else 1e-5)
    x, ref, tol = _reference(folder, which)
    out = _run_nhwc(loaded.model, x)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() <= tol


def test_generators_differ_and_selection_matters() -> None:
    """generator_g and generator_f are different networks: loading the wrong one fails the comparison."""
    folder = FIXTURES / "instancenorm"
    x, ref_g, tol = _reference(folder, "g")
    out_f = _run_nhwc(load_generator_checkpoint(f"{folder}:generator_f").model, x)
    assert np.abs(out_f - ref_g).max() > 100 * tol


def test_default_is_generator_g_and_the_log_says_how_to_pick_f(caplog: pytest.LogCaptureFixture) -> None:
    folder = FIXTURES / "instancenorm"
    with caplog.at_level(logging.INFO):
        loaded = load_generator_checkpoint(folder)  # the folder: its `checkpoint` file names ckpt-3
    x, ref, tol = _reference(folder, "g")
    assert np.abs(_run_nhwc(loaded.model, x) - ref).max() <= tol
    assert loaded.meta["foreign"]["model"] == "generator_g"
    assert any("ckpt-3:generator_f" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("form", ["folder", "prefix", "index", "data"])
def test_every_path_form_reads_the_same_bundle(form: str) -> None:
    folder = FIXTURES / "batchnorm_tfkeras2"
    spec = {"folder": folder, "prefix": folder / "ckpt-3", "index": folder / "ckpt-3.index",
            "data": folder / "ckpt-3.data-00000-of-00001"}[form]
    assert is_tf_or_keras(spec)
    model = read_tf_checkpoint(spec)
    assert model.name == "generator_g" and Path(model.path) == folder / "ckpt-3"
    assert set(model.siblings) == {"generator_f", "discriminator_x", "discriminator_y"}


def test_bundle_reader_reads_both_object_graphs() -> None:
    """Keras 3 files the generator's trainable variables under the optimizer's keys; the walk finds them."""
    k3 = TensorBundle(FIXTURES / "instancenorm" / "ckpt-3")
    assert not any(key.startswith("generator_g/") for key in k3.keys())  # nothing under the model's own name
    assert any(key.startswith("generator_g_optimizer/_trainable_variables/") for key in k3.keys())
    k2 = TensorBundle(FIXTURES / "batchnorm_tfkeras2" / "ckpt-3")
    assert any(key.startswith("generator_g/layer_with_weights-0/") for key in k2.keys())
    for bundle in (k3, k2):
        root = read_tf_checkpoint(bundle.prefix).root
        params = sum(a.size for layer in root.weighted() for a in layer.weights.values())
        meta = json.loads((bundle.prefix.parent / "meta.json").read_text())
        non_trainable = sum(a.size for layer in root.weighted() for k, a in layer.weights.items() if k.startswith("moving_"))
        assert params - non_trainable == meta["generator_parameters"]


def test_selector_parsing() -> None:
    assert split_selector("runs/x/ckpt-5:generator_f") == (Path("runs/x/ckpt-5"), "generator_f")
    assert split_selector("model.weights.h5") == (Path("model.weights.h5"), None)
    assert split_selector("C:model.weights.h5") == (Path("C:model.weights.h5"), None)  # a drive letter, not a name


# --- errors: one clear line each --------------------------------------------------------------------


def _copy(tmp_path: Path, variant: str = "batchnorm_tfkeras2") -> Path:
    dst = tmp_path / variant
    shutil.copytree(FIXTURES / variant, dst)
    return dst


def _error(spec: object) -> str:
    with pytest.raises(CheckpointError) as info:
        load_generator_checkpoint(spec)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_data_shard(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "ckpt-3.data-00000-of-00001").unlink()
    assert "missing data shard" in _error(folder)


def test_truncated_data_shard(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    data = folder / "ckpt-3.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert "truncated data shard" in _error(folder / "ckpt-3")


def test_missing_index(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "ckpt-3.index").unlink()
    assert "ckpt-3.index: missing" in _error(folder / "ckpt-3.data-00000-of-00001")


def test_corrupt_index(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    index = folder / "ckpt-3.index"
    raw = bytearray(index.read_bytes())
    raw[100] ^= 0xFF
    index.write_bytes(bytes(raw))
    assert "not a readable TensorFlow checkpoint index" in _error(index)


def test_checkpoint_file_names_a_missing_bundle(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "checkpoint").write_text('model_checkpoint_path: "ckpt-9"\nall_model_checkpoint_paths: "ckpt-9"\n')
    assert "ckpt-9" in _error(folder)


def test_discriminator_is_refused() -> None:
    message = _error(f"{FIXTURES / 'instancenorm'}:discriminator_x")
    assert "discriminator, not a generator" in message and "generator_g" in message


def test_unknown_model_name() -> None:
    message = _error(f"{FIXTURES / 'instancenorm'}:generator_h")
    assert "no model named 'generator_h'" in message and "generator_f" in message


# --- the keras.io CycleGAN of 2020 (tf-keras, tfa InstanceNormalization): TF-format and legacy .h5 -------

KERAS_IO_2020 = FIXTURES / "keras_io_2020"


@pytest.mark.parametrize(("spec", "which"), [
    ("", "g"),  # the folder: its `checkpoint` file names cyclegan_checkpoints.001, gen_G by default
    ("cyclegan_checkpoints.001:gen_F", "f"),
    ("cyclegan_checkpoints.001.index:gen_G", "g"),
    ("gen_G.weights-legacy.h5", "g"),  # Keras 2 save_weights to .h5 (weight names 'conv2d_3/kernel:0')
    ("gen_G_alone", "g"),  # gen_G.save_weights in TF format: the generator is the checkpoint's root
    ("saved_model/cyclegan_checkpoints.001:gen_F", "f"),  # ModelCheckpoint's SavedModel folder (its variables/)
])
def test_keras_io_2020_resnet_matches_keras(spec: str, which: str) -> None:
    loaded = load_generator_checkpoint(f"{KERAS_IO_2020}/{spec}" if spec else KERAS_IO_2020)
    assert loaded.layout == "keras_resnet"
    cfg = loaded.config
    assert (cfg.ngf, cfg.n_blocks, cfg.norm, cfg.norm_eps, cfg.same_padding) == (2, 1, "instance_affine", 1e-3, "tf")
    x, ref, tol = _reference(KERAS_IO_2020, which)
    assert np.abs(_run_nhwc(loaded.model, x) - ref).max() <= tol


def test_keras_io_2020_siblings_are_the_other_models() -> None:
    model = read_tf_checkpoint(KERAS_IO_2020)
    assert model.name == "gen_G"
    assert set(model.siblings) == {"gen_F", "disc_X", "disc_Y"}  # optimizers and the root's self-reference left out


def test_optimizer_only_checkpoint_is_refused() -> None:
    message = _error(FIXTURES / "optimizer_only")
    assert "only optimizer state" in message and "generator_g_optimizer" in message


def test_keras_io_discriminator_is_refused() -> None:
    assert "discriminator, not a generator" in _error(f"{KERAS_IO_2020}/cyclegan_checkpoints.001:disc_Y")


# --- the spec a user types, through the CLI and the helpers downstream code uses ---------------------


def test_profile_cli_takes_a_tf_spec_and_prints_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    from mobilegan.cli.main import main

    assert main(["profile", f"{FIXTURES / 'instancenorm'}/ckpt-3:generator_f", "--size", "256"]) == 0
    assert "tf_unet layout" in capsys.readouterr().out
    assert main(["profile", str(FIXTURES / "optimizer_only")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only optimizer state" in err[0]


def test_spec_helpers() -> None:
    from mobilegan.checkpoints.tf_loader import checkpoint_exists, checkpoint_sha256, source_files

    folder = FIXTURES / "instancenorm"
    assert checkpoint_exists(f"{folder}/ckpt-3:generator_f") and checkpoint_exists(folder / "ckpt-3")
    assert not checkpoint_exists(folder / "ckpt-4")
    assert [p.name for p in source_files(folder)] == ["ckpt-3.index", "ckpt-3.data-00000-of-00001"]
    assert checkpoint_sha256(folder) == checkpoint_sha256(folder / "ckpt-3.index")  # both read ckpt-3, generator_g
    assert checkpoint_sha256(f"{folder}:generator_f") != checkpoint_sha256(folder)


@pytest.mark.parametrize("target", ["ckpt-3.index", "ckpt-3.data-00000-of-00001"])
def test_damaged_bytes_give_an_error_line_or_a_model_never_a_crash(tmp_path: Path, target: str) -> None:
    """Untrusted bytes: flip random bytes; the index is checksummed (always caught), the data is not
    (its CRC is not recomputed), so a flipped weight may load: never any other exception."""
    rng = np.random.default_rng(5)
    for trial in range(12):
        folder = _copy(tmp_path / str(trial))
        victim = folder / target
        raw = bytearray(victim.read_bytes())
        for pos in rng.integers(0, len(raw), 4):
            raw[pos] ^= int(rng.integers(1, 256))
        victim.write_bytes(bytes(raw))
        try:
            load_generator_checkpoint(folder)
        except CheckpointError as exc:
            assert "\n" not in str(exc)
        else:
            assert target.startswith("ckpt-3.data")
