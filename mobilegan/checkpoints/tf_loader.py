"""Generators written by TensorFlow or Keras -> ``(config, state dict, info)`` for mobilegan.

Accepted paths (the user passes only a path; a ``:NAME`` suffix picks one model of a file that
holds several):

* TF object-based checkpoints: a folder with a ``checkpoint`` file (the latest is taken),
  ``ckpt-N``, ``ckpt-N.index``, ``ckpt-N.data-00000-of-00001`` (TF CycleGAN tutorial:
  ``generator_g`` by default, ``ckpt-N:generator_f`` for the other direction).
* Keras 3 ``.weights.h5`` and ``.keras``, legacy Keras ``.h5`` (keras.io CycleGAN: ``gen_G`` by
  default, ``file.weights.h5:gen_F`` for the other).

Both recipes take NHWC images in [-1, 1] and return tanh outputs in [-1, 1]; mobilegan's modules
take NCHW in the same range, so only the axis order changes (once, at the model boundary).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mobilegan.checkpoints.foreign_tree import ForeignModel
from mobilegan.checkpoints.keras_weights import is_keras_path, read_keras_file
from mobilegan.checkpoints.tf_checkpoint import looks_like_tf_checkpoint, read_tf_checkpoint, resolve_prefix, split_selector
from mobilegan.checkpoints.tf_map import (
    Mapped,
    is_keras_resnet,
    is_tf_unet,
    looks_like_discriminator,
    map_keras_resnet,
    map_tf_unet,
)
from mobilegan.errors import CheckpointError
from mobilegan.models.config import GeneratorConfig
from mobilegan.models.unet_config import UnetConfig
from mobilegan.utils.hashing import sha256_file

log = logging.getLogger(__name__)

TF_LAYOUTS = {
    "tf_unet": "TensorFlow CycleGAN tutorial U-Net (tf.train.Checkpoint: checkpoint folder, ckpt-N, ckpt-N.index)",
    "keras_resnet": "keras.io CycleGAN ResNet generator (.weights.h5, .keras, .h5, or a TF checkpoint)",
}


@dataclass(frozen=True)
class TfGenerator:
    layout: str  # a TF_LAYOUTS key
    config: UnetConfig | GeneratorConfig
    state_dict: dict[str, torch.Tensor]
    source: str  # "tf_checkpoint", "keras_weights_h5", "keras_zip", "keras_legacy_h5"
    file: str  # the checkpoint prefix or the Keras file actually read
    name: str  # the sub-model loaded ("" when the file holds one model)
    siblings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


def is_tf_or_keras(spec: str | Path) -> bool:
    """Whether ``spec`` (a path, maybe with ``:NAME``) names a TF checkpoint or a Keras weights file."""
    path, _ = split_selector(spec)
    return is_keras_path(path) or looks_like_tf_checkpoint(path)


def checkpoint_exists(spec: str | os.PathLike[str]) -> bool:
    """Whether a generator spec names something on disk: a file, or a TF checkpoint (folder, prefix, ``PATH:NAME``)."""
    path, _ = split_selector(os.fspath(spec))
    return path.exists() or looks_like_tf_checkpoint(path)


def source_files(spec: str | Path) -> list[Path]:
    """The files a TF/Keras ``spec`` reads: a Keras file, or one bundle's ``.index`` and ``.data-*`` shards."""
    path, _ = split_selector(spec)
    if is_keras_path(path):
        return [path]
    prefix = resolve_prefix(path)
    return [Path(f"{prefix}.index"), *sorted(prefix.parent.glob(f"{prefix.name}.data-*"))]


def checkpoint_bytes(spec: str | os.PathLike[str]) -> int:
    """Bytes on disk of what a generator spec loads (all of a TF bundle's files; the file otherwise)."""
    if not is_tf_or_keras(spec):
        return Path(spec).stat().st_size
    return sum(file.stat().st_size for file in source_files(spec))


def checkpoint_sha256(spec: str | os.PathLike[str]) -> str:
    """sha256 of what a generator spec loads: the file itself, or (TF/Keras) the files read plus the ``:NAME`` picked."""
    if not is_tf_or_keras(spec):
        return sha256_file(spec)
    digest = hashlib.sha256()
    digest.update((split_selector(spec)[1] or "").encode())
    for file in source_files(spec):
        digest.update(file.name.encode())
        digest.update(bytes.fromhex(sha256_file(file)))
    return digest.hexdigest()


def read_foreign_model(spec: str | Path) -> ForeignModel:
    path, _ = split_selector(spec)
    if is_keras_path(path):
        return read_keras_file(spec)
    return read_tf_checkpoint(spec)


def _where(model: ForeignModel) -> str:
    return f"{model.path}:{model.name}" if model.name else model.path


def load_tf_generator(spec: str | Path) -> TfGenerator:
    """Read and map a TF/Keras generator; raises :class:`CheckpointError` with one line otherwise."""
    model = read_foreign_model(spec)
    try:
        mapped = _map(model)
    except (ValueError, IndexError, KeyError, TypeError, StopIteration) as exc:  # shapes no real file has
        raise CheckpointError(f"{_where(model)}: unexpected weights for its layout ({type(exc).__name__}: {str(exc)[:100]})") from None
    for note in mapped.notes:
        log.info("%s: %s", _where(model), note)
    if model.siblings:
        generators = [s for s in model.siblings if "gen" in s.lower() or s.lower().startswith(("g_", "netg"))]
        hint = f"; pass '{model.path}:{generators[0]}' for the other generator" if generators else ""
        log.info("%s: loaded %s (also in the file: %s)%s", model.path, model.name, ", ".join(model.siblings), hint)
    info = {"source": model.source, "file": model.path, "model": model.name, "framework_layout": "NHWC",
            "input_range": [-1.0, 1.0], "output_range": [-1.0, 1.0], "notes": list(mapped.notes)}
    return TfGenerator(layout=mapped.layout, config=mapped.config, state_dict=mapped.state_dict, source=model.source,
                       file=model.path, name=model.name, siblings=model.siblings, notes=tuple(mapped.notes), info=info)


def _map(model: ForeignModel) -> Mapped:
    if is_tf_unet(model):
        return map_tf_unet(model)
    if is_keras_resnet(model):
        return map_keras_resnet(model)
    if looks_like_discriminator(model):
        others = f"; other models in the file: {', '.join(model.siblings)}" if model.siblings else ""
        raise CheckpointError(f"{_where(model)}: a PatchGAN discriminator, not a generator{others}")
    kinds = sorted({layer.kind or layer.name for layer in model.root.weighted()})[:6]
    raise CheckpointError(
        f"{_where(model)}: not a supported generator (layers: {', '.join(kinds) or 'none'}); supported: "
        + "; ".join(TF_LAYOUTS.values())
    )
