"""Keras teachers (issue 23): files written by Keras 3 itself (torch backend, no TensorFlow), loaded
by mobilegan with h5py only, and compared with Keras' own forward pass on the same images.

The keras.io CycleGAN ResNet generator is rebuilt here with Keras layers as the example builds it
(ReflectionPadding2D as a small custom layer, Conv2D 'same' stride-2 downs, Conv2DTranspose 'same'
ups, GroupNormalization(groups=1) as in the Keras 3 port, groups=-1 as tfa's InstanceNormalization
in the 2020 version), with random norm scales/offsets so that no norm is an identity. The TF
tutorial's U-Net is rebuilt the same way (its InstanceNormalization written with keras.ops).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "torch"  # before the first keras import: keras would import TensorFlow otherwise

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from keras import layers, ops  # noqa: E402

from mobilegan.checkpoints import load_generator_checkpoint  # noqa: E402
from mobilegan.errors import CheckpointError  # noqa: E402
from mobilegan.models.generator import ResnetGenerator  # noqa: E402
from mobilegan.models.unet import UnetGenerator  # noqa: E402

SIZE = 32
TOLERANCE = 1e-4
# Keras' torch backend converts tensors with np.array(copy=False) (numpy 2 deprecation, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


class ReflectionPadding2D(layers.Layer):
    """The keras.io example's layer: reflect-pad H and W."""

    def __init__(self, padding: tuple[int, int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = tuple(padding)

    def call(self, x: Any) -> Any:
        pw, ph = self.padding
        return ops.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


class TutorialInstanceNorm(layers.Layer):
    """The TF tutorial's InstanceNormalization (scale, offset, eps 1e-5), with keras.ops."""

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight(name="scale", shape=input_shape[-1:], initializer="ones")
        self.offset = self.add_weight(name="offset", shape=input_shape[-1:], initializer="zeros")

    def call(self, x: Any) -> Any:
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        return self.scale * (x - mean) * ops.rsqrt(variance + 1e-5) + self.offset


def resnet_generator(name: str, *, ngf: int = 4, blocks: int = 2, groups: int = 1) -> keras.Model:
    def norm() -> layers.Layer:
        return layers.GroupNormalization(groups=groups, gamma_initializer=keras.initializers.RandomNormal(0.0, 0.02))

    def conv_norm(x: Any, filters: int, kernel: int, strides: int, padding: str, transpose: bool = False) -> Any:
        conv = layers.Conv2DTranspose if transpose else layers.Conv2D
        return norm()(conv(filters, kernel, strides=strides, padding=padding, use_bias=False)(x))

    inp = layers.Input((SIZE, SIZE, 3), name=f"{name}_img_input")
    x = layers.Activation("relu")(conv_norm(ReflectionPadding2D((3, 3))(inp), ngf, 7, 1, "valid"))
    f = ngf
    for _ in range(2):
        f *= 2
        x = layers.Activation("relu")(conv_norm(x, f, 3, 2, "same"))
    for _ in range(blocks):
        y = layers.Activation("relu")(conv_norm(ReflectionPadding2D()(x), f, 3, 1, "valid"))
        x = layers.add([x, conv_norm(ReflectionPadding2D()(y), f, 3, 1, "valid")])
    for _ in range(2):
        f //= 2
        x = layers.Activation("relu")(conv_norm(x, f, 3, 2, "same", transpose=True))
    x = layers.Conv2D(3, 7, padding="valid")(ReflectionPadding2D((3, 3))(x))
    return keras.Model(inp, layers.Activation("tanh")(x), name=name)


def discriminator(name: str) -> keras.Model:
    inp = layers.Input((SIZE, SIZE, 3))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(4, 4, strides=2, padding="same")(inp))
    x = layers.LeakyReLU(0.2)(layers.GroupNormalization(groups=1)(layers.Conv2D(8, 4, strides=2, padding="same", use_bias=False)(x)))
    return keras.Model(inp, layers.Conv2D(1, 4, padding="same")(x), name=name)


def tutorial_unet(*, levels: int = 5, ngf: int = 2, norm: str = "instancenorm") -> keras.Model:
    widths = [ngf * min(2**k, 8) for k in range(levels)]

    def block(filters: int, transpose: bool, with_norm: bool) -> keras.Sequential:
        seq = keras.Sequential()
        conv = layers.Conv2DTranspose if transpose else layers.Conv2D
        seq.add(conv(filters, 4, strides=2, padding="same", use_bias=False))
        if with_norm:
            seq.add(layers.BatchNormalization() if norm == "batchnorm" else TutorialInstanceNorm())
        seq.add(layers.ReLU() if transpose else layers.LeakyReLU())
        return seq

    downs = [block(w, False, i > 0) for i, w in enumerate(widths)]
    ups = [block(w, True, True) for w in reversed(widths[:-1])]
    last = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh")
    inp = layers.Input((None, None, 3))
    x, skips = inp, []
    for down in downs:
        x = down(x)
        skips.append(x)
    for up, skip in zip(ups, reversed(skips[:-1])):
        x = layers.Concatenate()([up(x), skip])
    return keras.Model(inp, last(x))


class CycleGan(keras.Model):
    """The keras.io example's container: save_weights writes all four models (and the optimizers)."""

    def __init__(self, gen_g: keras.Model, gen_f: keras.Model, disc_x: keras.Model, disc_y: keras.Model) -> None:
        super().__init__()
        self.gen_G, self.gen_F, self.disc_X, self.disc_Y = gen_g, gen_f, disc_x, disc_y

    def call(self, x: Any) -> Any:
        return self.gen_G(x)


def randomise_norms(model: keras.Model, rng: np.random.Generator) -> None:
    for weight in model.weights:
        name = weight.path.split("/")[-1]
        if name in ("gamma", "scale"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))
        elif name in ("beta", "offset"):
            weight.assign(rng.normal(0.0, 0.3, weight.shape).astype("float32"))
        elif name == "moving_mean":
            weight.assign(rng.normal(0.0, 0.3, weight.shape).astype("float32"))
        elif name == "moving_variance":
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype("float32"))


def keras_out(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)


def ours(spec: str | Path, x: np.ndarray) -> tuple[Any, np.ndarray]:
    loaded = load_generator_checkpoint(spec)
    with torch.no_grad():
        y = loaded.model(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return loaded, y.double().numpy()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert keras.backend.backend() == "torch"
    rng = np.random.default_rng(23)
    folder = tmp_path_factory.mktemp("keras")
    x = rng.uniform(-1, 1, (2, SIZE, SIZE, 3)).astype("float32")
    out: dict[str, Any] = {"x": x, "dir": folder}
    gen_g, gen_f = resnet_generator("generator_G"), resnet_generator("generator_F")
    tfa_style = resnet_generator("generator_tfa", groups=-1)
    unet_in, unet_bn = tutorial_unet(), tutorial_unet(norm="batchnorm")
    for model in (gen_g, gen_f, tfa_style, unet_in, unet_bn):
        randomise_norms(model, rng)
    cycle = CycleGan(gen_g, gen_f, discriminator("discriminator_X"), discriminator("discriminator_Y"))
    cycle(x)
    for attr in ("gen_G_optimizer", "gen_F_optimizer"):
        opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        opt.build(getattr(cycle, attr.replace("_optimizer", "")).trainable_variables)
        setattr(cycle, attr, opt)
    gen_g.save_weights(folder / "gen_G.weights.h5")
    gen_g.save(folder / "gen_G.keras")
    gen_g.save(folder / "gen_G.h5")  # legacy HDF5 full model (Keras 3 still writes it)
    cycle.save_weights(folder / "cyclegan.weights.h5")  # the keras.io recipe's ModelCheckpoint file
    tfa_style.save(folder / "tfa_style.keras")
    tfa_style.save(folder / "tfa_style.h5")
    unet_in.save_weights(folder / "unet_in.weights.h5")
    unet_bn.save(folder / "unet_bn.keras")
    classifier = keras.Sequential([layers.Input((SIZE, SIZE, 3)), layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(),
                                   layers.Dense(10)])
    classifier.save(folder / "classifier.keras")
    classifier.save_weights(folder / "classifier.weights.h5")
    out["ref"] = {"G": keras_out(gen_g, x), "F": keras_out(gen_f, x), "tfa": keras_out(tfa_style, x),
                  "unet_in": keras_out(unet_in, x), "unet_bn": keras_out(unet_bn, x)}
    return out


@pytest.mark.parametrize(("name", "ref", "norm"), [
    ("gen_G.weights.h5", "G", "group1"),
    ("gen_G.keras", "G", "group1"),
    ("gen_G.h5", "G", "group1"),
    ("cyclegan.weights.h5", "G", "group1"),
    ("cyclegan.weights.h5:gen_F", "F", "group1"),
    ("tfa_style.keras", "tfa", "instance_affine"),
    ("tfa_style.h5", "tfa", "instance_affine"),
])
def test_keras_resnet_matches_keras(files: dict[str, Any], name: str, ref: str, norm: str) -> None:
    loaded, y = ours(f"{files['dir']}/{name}", files["x"])
    assert isinstance(loaded.model, ResnetGenerator) and loaded.layout == "keras_resnet"
    assert (loaded.config.norm, loaded.config.norm_eps, loaded.config.same_padding) == (norm, 1e-3, "tf")
    assert (loaded.config.ngf, loaded.config.n_blocks) == (4, 2)
    assert np.abs(y - files["ref"][ref]).max() <= TOLERANCE


def test_wrong_generator_of_the_pair_does_not_match(files: dict[str, Any]) -> None:
    _, y = ours(f"{files['dir']}/cyclegan.weights.h5:gen_F", files["x"])
    assert np.abs(y - files["ref"]["G"]).max() > 100 * TOLERANCE


@pytest.mark.parametrize(("name", "ref", "norm"), [("unet_in.weights.h5", "unet_in", "instance_affine"),
                                                   ("unet_bn.keras", "unet_bn", "batch")])
def test_tutorial_unet_saved_by_keras(files: dict[str, Any], name: str, ref: str, norm: str) -> None:
    loaded, y = ours(f"{files['dir']}/{name}", files["x"])
    assert isinstance(loaded.model, UnetGenerator) and loaded.config.norm == norm
    assert loaded.config.num_downs == 5
    assert np.abs(y - files["ref"][ref]).max() <= TOLERANCE


def test_pair_file_defaults_to_gen_g_and_says_how_to_pick_gen_f(files: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        loaded = load_generator_checkpoint(files["dir"] / "cyclegan.weights.h5")
    assert loaded.meta["foreign"]["model"] == "gen_G"
    assert any("cyclegan.weights.h5:gen_F" in record.getMessage() for record in caplog.records)


def _error(spec: str | Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_generator_checkpoint(spec)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_discriminator_in_a_keras_file(files: dict[str, Any]) -> None:
    message = _error(f"{files['dir']}/cyclegan.weights.h5:disc_X")
    assert "discriminator, not a generator" in message and "gen_G" in message


@pytest.mark.parametrize("name", ["classifier.keras", "classifier.weights.h5"])
def test_keras_file_of_another_model(files: dict[str, Any], name: str) -> None:
    message = _error(files["dir"] / name)
    assert "not a supported generator" in message and "dense" in message


def test_truncated_h5(files: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "gen_G.weights.h5"
    data = (files["dir"] / "gen_G.weights.h5").read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    assert "not a readable HDF5 file" in _error(bad)


def test_keras_zip_without_weights(tmp_path: Path) -> None:
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("config.json", "{}")
    assert "no model.weights.h5" in _error(bad)
