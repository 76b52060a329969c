"""Weights read from TensorFlow / Keras files, before they are mapped onto a torch module.

Every reader (TF checkpoint, Keras ``.weights.h5`` / legacy ``.h5`` / ``.keras``) returns a
:class:`ForeignModel`: one sub-model of the file (e.g. ``generator_g`` of the TF CycleGAN
tutorial, ``gen_G`` of the keras.io CycleGAN) as a tree of layers. Arrays stay in the
framework's layout (NHWC kernels: Conv2D ``(kh, kw, in, out)``, Conv2DTranspose
``(kh, kw, out, in)``); the mappers convert them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

_NUM = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders ``conv2d_2`` before ``conv2d_10`` and ``layer-9`` before ``layer-10``."""
    return tuple(int(part) if part.isdigit() else part for part in _NUM.split(text))


def kind_and_index(name: str) -> tuple[str, int]:
    """``"conv2d_transpose_3"`` -> ``("conv2d_transpose", 3)``; ``"conv2d"`` -> ``("conv2d", 0)``."""
    match = re.fullmatch(r"(.*?)_(\d+)", name)
    if match:
        return match.group(1), int(match.group(2))
    return name, 0


@dataclass
class ForeignLayer:
    """One layer (or a nested model) with its own variables and its sub-layers, in model order.

    ``kind`` is the Keras class in snake case when the file says it (``conv2d``,
    ``conv2d_transpose``, ``group_normalization``, ``batch_normalization``, ``sequential``...),
    else ``None`` (TF checkpoints do not store classes). ``weights`` maps variable names
    (``kernel``, ``bias``, ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``, ``scale``,
    ``offset``; or ``"0"``, ``"1"``... when only positions are known) to arrays, in creation order.
    ``config`` holds the layer's Keras config when the file has one (``.keras``, legacy ``.h5``).
    """

    name: str
    kind: str | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    children: list[ForeignLayer] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def walk(self) -> Iterator[ForeignLayer]:
        """This layer and all layers below it, depth first, in model order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def weighted(self) -> list[ForeignLayer]:
        """Layers that own variables, depth first, in model order."""
        return [layer for layer in self.walk() if layer.weights]

    def arrays(self) -> list[np.ndarray]:
        """This layer's own arrays in creation order."""
        return list(self.weights.values())

    def count(self) -> int:
        return sum(int(np.prod(a.shape)) for layer in self.walk() for a in layer.weights.values())


@dataclass
class ForeignModel:
    """One sub-model of a TF/Keras file, ready for a mapper."""

    source: str  # "tf_checkpoint", "keras_weights_h5", "keras_legacy_h5", "keras_zip"
    path: str
    name: str  # which sub-model ("generator_g", "gen_G", "" for the file's only model)
    root: ForeignLayer
    siblings: tuple[str, ...] = ()  # other sub-models of the same file that a user could pick
    exact_order: bool = True  # False: layers of different classes are ordered per class only

    def describe(self) -> str:
        where = f"{self.path}:{self.name}" if self.name else self.path
        return f"{where} ({self.source}, {self.root.count():,} weights)"
