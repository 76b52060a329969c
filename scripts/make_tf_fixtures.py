"""Write the TensorFlow-tutorial CycleGAN fixtures under tests/fixtures/tf_tutorial/.

Runs in a throwaway TensorFlow venv, never in the project venv:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0   # brings keras 3.15.1, h5py 3.14.0
    /tmp/tfvenv/bin/python scripts/make_tf_fixtures.py --out tests/fixtures/tf_tutorial

What it writes, per variant (a sub-folder each):
- the tutorial's checkpoint bundle, saved the way the TF CycleGAN tutorial saves it:
  tf.train.Checkpoint(generator_g=, generator_f=, discriminator_x=, discriminator_y=,
  and the four *_optimizer=) + tf.train.CheckpointManager(..., max_to_keep=5)
  -> ckpt-N.index, ckpt-N.data-00000-of-00001, checkpoint;
- input_g.npy / input_f.npy: uint8 NHWC images; the model input is x / 127.5 - 1 in float32
  (the tutorial's normalize(), done here in numpy so that a reader can redo it bit for bit);
- output_g.npy / output_f.npy: float32 NHWC, TensorFlow's own forward pass (model(x), i.e. inference
  mode: Dropout off, BatchNorm on its moving statistics), as the tutorial's generate_images() calls it.
- meta.json: the variant's settings and the library versions.

The networks are the tutorial's (tensorflow_examples.models.pix2pix.unet_generator and
discriminator, rebuilt here layer for layer because tensorflow-examples is not on PyPI) with every
filter count divided by a width divisor so that the fixture stays small (see VARIANTS); the
`instancenorm` variant keeps the tutorial's 8 down-sampling steps (256 px is the smallest input they
allow). The weights are those
after a few Adam steps at a large learning rate, and the norm scales/offsets (and BatchNorm moving
statistics) are then set to random values so that no normalisation is an identity.

Variants: `instancenorm` (the CycleGAN tutorial, Keras 3 = tf.keras of TF >= 2.16) and
`batchnorm_tfkeras2` (norm_type='batchnorm' built with tf-keras, i.e. the Keras 2 object graph that
TF <= 2.15 wrote; TF_USE_LEGACY_KERAS=1 is set in a child process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# downs=8 at 256 px is the tutorial's generator exactly (bar the width divisor). The 256 px outputs are
# stored as uint16 (y = q / 65535 * 2 - 1, at most 7.7e-6 off TF's float32) to keep the fixture < 2 MB;
# the 64 px variant (6 downs, the same code with two fewer innermost 512-filter levels) stores float32.
VARIANTS = {
    "instancenorm": {"kind": "tutorial", "norm_type": "instancenorm", "legacy_keras": False, "downs": 8, "size": 256, "div": 64},
    "batchnorm_tfkeras2": {"kind": "tutorial", "norm_type": "batchnorm", "legacy_keras": True, "downs": 6, "size": 64, "div": 64},
    # The keras.io CycleGAN of 2020 (TF 2 + tensorflow-addons, Keras 2): its ResNet generator with
    # tfa InstanceNormalization (= GroupNormalization(groups=-1), rebuilt here because tensorflow-addons
    # does not install with TF >= 2.16), the whole CycleGan model saved in TF format with save_weights
    # (as its ModelCheckpoint did) plus gen_G alone as a Keras 2 weights-only .h5 and in TF format.
    # ngf 2 and one residual block, 32 px.
    "keras_io_2020": {"kind": "keras_io_2020", "legacy_keras": True, "size": 32, "ngf": 2, "blocks": 1},
    # An optimizer saved alone (tf.train.Checkpoint(generator_g_optimizer=...)), tiny model, Keras 3.
    "optimizer_only": {"kind": "optimizer_only", "legacy_keras": False},
    # The tutorial at full width (54.4 M parameters per generator, a 1.37 GB bundle): for BENCHMARKS.md,
    # never committed, only written when asked for (--variant tutorial_full).
    "tutorial_full": {"kind": "tutorial", "norm_type": "instancenorm", "legacy_keras": False, "downs": 8, "size": 256,
                      "div": 1, "explicit": True},
}


def _build(tf, keras, norm_type: str, div: int):
    """The tutorial's generator and discriminator with filters // div."""
    init = lambda: tf.random_normal_initializer(0.0, 0.02)  # noqa: E731

    class InstanceNormalization(keras.layers.Layer):
        # Same variables and maths as the tutorial's layer: scale ~ N(1, 0.02), offset = 0,
        # biased variance over H and W, epsilon 1e-5.
        def __init__(self, epsilon: float = 1e-5):
            super().__init__()
            self.epsilon = epsilon

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=input_shape[-1:],
                                         initializer=tf.random_normal_initializer(1.0, 0.02), trainable=True)
            self.offset = self.add_weight(name="offset", shape=input_shape[-1:],
                                          initializer="zeros", trainable=True)

        def call(self, x):
            mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
            return self.scale * ((x - mean) * tf.math.rsqrt(variance + self.epsilon)) + self.offset

    def norm():
        return keras.layers.BatchNormalization() if norm_type == "batchnorm" else InstanceNormalization()

    def down(filters: int, apply_norm: bool = True):
        block = keras.Sequential()
        block.add(keras.layers.Conv2D(filters // div, 4, strides=2, padding="same",
                                      kernel_initializer=init(), use_bias=False))
        if apply_norm:
            block.add(norm())
        block.add(keras.layers.LeakyReLU())
        return block

    def up(filters: int, apply_dropout: bool = False):
        block = keras.Sequential()
        block.add(keras.layers.Conv2DTranspose(filters // div, 4, strides=2, padding="same",
                                               kernel_initializer=init(), use_bias=False))
        block.add(norm())
        if apply_dropout:
            block.add(keras.layers.Dropout(0.5))
        block.add(keras.layers.ReLU())
        return block

    def generator(num_downs: int = 8):
        # num_downs=8: downs 64,128,256,512,512,512,512,512; ups 512(dropout) x3, 512, 256, 128, 64.
        filters = [64, 128, 256] + [512] * (num_downs - 3)
        downs = [down(f, apply_norm=i > 0) for i, f in enumerate(filters)]
        ups = [up(f, apply_dropout=i < 3) for i, f in enumerate(reversed(filters[:-1]))]
        last = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same",
                                            kernel_initializer=init(), activation="tanh")
        concat = keras.layers.Concatenate()
        inputs = keras.layers.Input(shape=[None, None, 3])
        x = inputs
        skips = []
        for d in downs:
            x = d(x)
            skips.append(x)
        for u, skip in zip(ups, reversed(skips[:-1])):
            x = concat([u(x), skip])
        return keras.Model(inputs=inputs, outputs=last(x))

    def discriminator():
        inp = keras.layers.Input(shape=[None, None, 3], name="input_image")
        x = down(64, apply_norm=False)(inp)
        x = down(128)(x)
        x = down(256)(x)
        x = keras.layers.ZeroPadding2D()(x)
        x = keras.layers.Conv2D(512 // div, 4, strides=1, kernel_initializer=init(), use_bias=False)(x)
        x = norm()(x)
        x = keras.layers.LeakyReLU()(x)
        x = keras.layers.ZeroPadding2D()(x)
        x = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=init())(x)
        return keras.Model(inputs=inp, outputs=x)

    return generator, discriminator


def _train_a_little(tf, keras, gens, discs, opts, images, steps: int) -> None:
    """A few CycleGAN steps (the tutorial's losses) so that weights and Adam slots are real."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    g, f = gens
    dx, dy = discs
    x, y = images
    for _ in range(steps):
        with tf.GradientTape(persistent=True) as tape:
            fake_y, fake_x = g(x, training=True), f(y, training=True)
            cyc = tf.reduce_mean(tf.abs(x - f(fake_y, training=True))) + tf.reduce_mean(tf.abs(y - g(fake_x, training=True)))
            g_loss = bce(tf.ones_like(dy(fake_y, training=True)), dy(fake_y, training=True)) + 10 * cyc
            f_loss = bce(tf.ones_like(dx(fake_x, training=True)), dx(fake_x, training=True)) + 10 * cyc
            dx_loss = bce(tf.ones_like(dx(x)), dx(x, training=True)) + bce(tf.zeros_like(dx(fake_x)), dx(fake_x, training=True))
            dy_loss = bce(tf.ones_like(dy(y)), dy(y, training=True)) + bce(tf.zeros_like(dy(fake_y)), dy(fake_y, training=True))
        for loss, model, opt in ((g_loss, g, opts[0]), (f_loss, f, opts[1]), (dx_loss, dx, opts[2]), (dy_loss, dy, opts[3])):
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))


def _randomise_norms(np, models, rng) -> None:
    for model in models:
        for var in model.weights:
            name = var.name.split("/")[-1].split(":")[0]
            shape = tuple(var.shape)
            if name in ("scale", "gamma"):
                var.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
            elif name in ("offset", "beta"):
                var.assign(rng.normal(0.0, 0.2, shape).astype(np.float32))
            elif name == "moving_mean":
                var.assign(rng.normal(0.0, 0.3, shape).astype(np.float32))
            elif name == "moving_variance":
                var.assign(rng.uniform(0.5, 2.0, shape).astype(np.float32))


def _keras_io_2020(tf, keras, ngf: int, blocks: int, size: int):
    """keras.io CycleGAN (2020) get_resnet_generator / get_discriminator / CycleGan, rebuilt."""
    kernel_init = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
    gamma_init = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)

    class ReflectionPadding2D(keras.layers.Layer):
        def __init__(self, padding=(1, 1), **kwargs):
            self.padding = tuple(padding)
            super().__init__(**kwargs)

        def call(self, x, mask=None):
            pw, ph = self.padding
            return tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="REFLECT")

        def get_config(self):
            return {**super().get_config(), "padding": self.padding}

    class InstanceNormalization(keras.layers.GroupNormalization):  # tfa's definition: one group per channel
        def __init__(self, **kwargs):
            kwargs["groups"] = -1
            super().__init__(**kwargs)

    relu = lambda: keras.layers.Activation("relu")  # noqa: E731

    def conv_norm(x, filters, kernel, strides, padding, transpose=False, act=True):
        layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        x = layer(filters, kernel, strides=strides, padding=padding, kernel_initializer=kernel_init, use_bias=False)(x)
        x = InstanceNormalization(gamma_initializer=gamma_init)(x)
        return relu()(x) if act else x

    def generator(name):
        inp = keras.layers.Input(shape=(size, size, 3), name=name + "_img_input")
        x = ReflectionPadding2D(padding=(3, 3))(inp)
        x = conv_norm(x, ngf, (7, 7), (1, 1), "valid")
        f = ngf
        for _ in range(2):
            f *= 2
            x = conv_norm(x, f, (3, 3), (2, 2), "same")
        for _ in range(blocks):
            y = conv_norm(ReflectionPadding2D()(x), f, (3, 3), (1, 1), "valid")
            y = conv_norm(ReflectionPadding2D()(y), f, (3, 3), (1, 1), "valid", act=False)
            x = keras.layers.add([x, y])
        for _ in range(2):
            f //= 2
            x = conv_norm(x, f, (3, 3), (2, 2), "same", transpose=True)
        x = ReflectionPadding2D(padding=(3, 3))(x)
        x = keras.layers.Conv2D(3, (7, 7), padding="valid")(x)
        return keras.models.Model(inp, keras.layers.Activation("tanh")(x), name=name)

    def discriminator(name):
        inp = keras.layers.Input(shape=(size, size, 3), name=name + "_img_input")
        x = keras.layers.Conv2D(ngf, (4, 4), strides=(2, 2), padding="same", kernel_initializer=kernel_init)(inp)
        x = keras.layers.LeakyReLU(0.2)(x)
        f = ngf
        for i in range(3):
            f *= 2
            x = keras.layers.Conv2D(f, (4, 4), strides=(2, 2) if i < 2 else (1, 1), padding="same",
                                    kernel_initializer=kernel_init, use_bias=False)(x)
            x = keras.layers.LeakyReLU(0.2)(InstanceNormalization(gamma_initializer=gamma_init)(x))
        x = keras.layers.Conv2D(1, (4, 4), strides=(1, 1), padding="same", kernel_initializer=kernel_init)(x)
        return keras.models.Model(inp, x, name=name)

    class CycleGan(keras.Model):
        def __init__(self, gen_g, gen_f, disc_x, disc_y):
            super().__init__()
            self.gen_G, self.gen_F, self.disc_X, self.disc_Y = gen_g, gen_f, disc_x, disc_y

        def call(self, inputs):
            return self.gen_G(inputs)

    return generator, discriminator, CycleGan


def write_keras_io_2020(out: Path, steps: int, seed: int) -> None:
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    settings = VARIANTS["keras_io_2020"]
    size = settings["size"]
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    generator, discriminator, CycleGan = _keras_io_2020(tf, keras, settings["ngf"], settings["blocks"], size)
    model = CycleGan(generator("generator_G"), generator("generator_F"), discriminator("discriminator_X"),
                     discriminator("discriminator_Y"))
    model.gen_G_optimizer, model.gen_F_optimizer, model.disc_X_optimizer, model.disc_Y_optimizer = (
        keras.optimizers.Adam(2e-2, beta_1=0.5) for _ in range(4))
    images = [tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)) for _ in range(2)]
    opts = (model.gen_G_optimizer, model.gen_F_optimizer, model.disc_X_optimizer, model.disc_Y_optimizer)
    _train_a_little(tf, keras, (model.gen_G, model.gen_F), (model.disc_X, model.disc_Y), opts, images, steps)
    _randomise_norms(np, (model.gen_G, model.gen_F, model.disc_X, model.disc_Y), rng)
    folder = out / "keras_io_2020"
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(folder / "cyclegan_checkpoints.001"))  # TF format (no .h5 suffix), as the example
    model.gen_G.save_weights(str(folder / "gen_G.weights-legacy.h5"))
    # ModelCheckpoint(filepath) without save_weights_only, as the 2020 example: a SavedModel folder. Only
    # its variables/ bundle is kept (mobilegan never reads the 1.4 MB graph in saved_model.pb).
    # (A container without the optimizer attributes, to keep the fixture small: same four models.)
    bare = CycleGan(model.gen_G, model.gen_F, model.disc_X, model.disc_Y)
    bare(images[0], training=False)  # a SavedModel needs the container's own forward pass traced once
    saver = keras.callbacks.ModelCheckpoint(filepath=str(folder / "saved_model" / "cyclegan_checkpoints.{epoch:03d}"))
    saver.set_model(bare)
    saver.on_epoch_end(0)
    for leftover in (folder / "saved_model" / "cyclegan_checkpoints.001").iterdir():
        if leftover.is_file():
            leftover.unlink()
    model.gen_G.save_weights(str(folder / "gen_G_alone" / "gen_G"))  # TF format, the generator as the root (own folder:
    # save_weights rewrites the folder's `checkpoint` file)
    img = np.clip(np.round(rng.uniform(0, 255, (1, size, size, 3))), 0, 255).astype(np.uint8)
    np.save(folder / "input.npy", img)
    x = tf.constant(img.astype(np.float32) / np.float32(127.5) - np.float32(1.0))
    for name, gen in (("g", model.gen_G), ("f", model.gen_F)):
        np.save(folder / f"output_{name}.npy", gen(x, training=False).numpy().astype(np.float32))
    meta = {"variant": "keras_io_2020", "ngf": settings["ngf"], "blocks": settings["blocks"], "size": size,
            "train_steps": steps, "seed": seed, "checkpoint": "cyclegan_checkpoints.001",
            "tensorflow": tf.__version__, "keras": keras.__version__, "output_encoding": "float32",
            "input": "input.npy, uint8 NHWC; model input = x / 127.5 - 1 (float32)",
            "output": "output_g.npy (gen_G) / output_f.npy (gen_F), float32 NHWC, gen(x, training=False)"}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"keras_io_2020: {folder}", file=sys.stderr)


def write_optimizer_only(out: Path, seed: int) -> None:
    import numpy as np
    import tensorflow as tf
    import keras

    tf.keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Input((8, 8, 3)), keras.layers.Conv2D(2, 4, strides=2, padding="same")])
    opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    x = tf.constant(np.random.default_rng(seed).uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    folder = out / "optimizer_only"
    folder.mkdir(parents=True, exist_ok=True)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(generator_g_optimizer=opt), str(folder), max_to_keep=5)
    print(f"optimizer_only: {manager.save()}", file=sys.stderr)


def write_variant(out: Path, variant: str, steps: int, seed: int) -> None:
    import numpy as np
    import tensorflow as tf

    settings = VARIANTS[variant]
    if settings["kind"] == "keras_io_2020":
        return write_keras_io_2020(out, steps, seed)
    if settings["kind"] == "optimizer_only":
        return write_optimizer_only(out, seed)
    div, size = settings["div"], settings["size"]
    if settings["legacy_keras"]:
        import tf_keras as keras
    else:
        import keras
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    generator, discriminator = _build(tf, keras, settings["norm_type"], div)
    generator_g, generator_f = generator(settings["downs"]), generator(settings["downs"])
    discriminator_x, discriminator_y = discriminator(), discriminator()
    opts = [keras.optimizers.Adam(2e-2, beta_1=0.5) for _ in range(4)]

    # Smooth random images (low-frequency noise upsampled), so that the outputs have structure.
    def image() -> np.ndarray:
        low = rng.uniform(0, 255, (1, size // 16, size // 16, 3)).astype(np.float32)
        big = tf.image.resize(low, (size, size), method="bicubic").numpy()
        big += rng.normal(0, 12, big.shape)
        return np.clip(np.round(big), 0, 255).astype(np.uint8)

    def to_model(img: np.ndarray) -> np.ndarray:
        return img.astype(np.float32) / np.float32(127.5) - np.float32(1.0)

    train = (tf.constant(to_model(image())), tf.constant(to_model(image())))
    _train_a_little(tf, keras, (generator_g, generator_f), (discriminator_x, discriminator_y), opts, train, steps)
    _randomise_norms(np, (generator_g, generator_f, discriminator_x, discriminator_y), rng)

    folder = out / variant
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = tf.train.Checkpoint(generator_g=generator_g, generator_f=generator_f,
                               discriminator_x=discriminator_x, discriminator_y=discriminator_y,
                               generator_g_optimizer=opts[0], generator_f_optimizer=opts[1],
                               discriminator_x_optimizer=opts[2], discriminator_y_optimizer=opts[3])
    manager = tf.train.CheckpointManager(ckpt, str(folder), max_to_keep=5)
    saved = manager.save(checkpoint_number=steps)
    img = image()
    np.save(folder / "input.npy", img)
    encoding = "uint16" if size >= 256 else "float32"
    for name, model in (("g", generator_g), ("f", generator_f)):
        y = model(tf.constant(to_model(img))).numpy().astype(np.float32)
        if encoding == "uint16":
            y = np.round((np.clip(y, -1, 1) + 1) / 2 * 65535).astype(np.uint16)
        np.save(folder / f"output_{name}.npy", y)
    meta = {"variant": variant, "norm_type": settings["norm_type"], "downs": settings["downs"],
            "width_divisor": div, "size": size, "output_encoding": encoding,
            "train_steps": steps, "seed": seed, "checkpoint": Path(saved).name,
            "generator_parameters": int(sum(np.prod(v.shape) for v in generator_g.weights if v.trainable)),
            "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
            "input": "input.npy, uint8 NHWC, fed to both generators; model input = x / 127.5 - 1 (float32)",
            "output": "output_g.npy / output_f.npy, NHWC, model(x) (inference mode); "
                      "uint16 encoding: y = q / 65535 * 2 - 1"}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{variant}: {saved}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/tf_tutorial"))
    parser.add_argument("--variant", choices=sorted(VARIANTS), action="append")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()
    for variant in args.variant or sorted(v for v in VARIANTS if not VARIANTS[v].get("explicit")):
        if VARIANTS[variant]["legacy_keras"] and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
            # tf-keras must be chosen before TensorFlow is first imported: one child process per variant.
            cmd = [sys.executable, __file__, "--out", str(args.out), "--variant", variant,
                   "--steps", str(args.steps), "--seed", str(args.seed)]
            subprocess.run(cmd, check=True, env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
            continue
        write_variant(args.out, variant, args.steps, args.seed)


if __name__ == "__main__":
    main()
