"""The official pytorch-CycleGAN-and-pix2pix ``UnetGenerator`` (``--netG unet_128`` / ``unet_256``),
mapped onto :class:`~mobilegan.models.unet.UnetGenerator`.

The official network nests one ``UnetSkipConnectionBlock`` per level, each an ``nn.Sequential``
called ``model``, so a key's path of Sequential indices names its level and layer::

    model.model.0                    outermost down conv        model.model.3           outermost up convT
    model.model.1.model.1 / .2       level 2 down conv / norm   ... .5 / .6             level 2 up convT / norm
    model.model.1.model.3.model...   level 3, and so on         innermost: .1 conv, .3 convT, .4 norm

(the submodule sits at index 1 of the outermost block and at index 3 of the others). InstanceNorm
(``--norm instance``, no affine) has no keys, except the running statistics that files written by
PyTorch < 0.4 carry (ignored); BatchNorm (``--norm batch``, pix2pix's default) has weight, bias and
running statistics and no conv bias; ``--norm none`` has neither norm keys nor conv biases.
``--use_dropout`` adds parameterless Dropout layers after the up norms: they change no key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from mobilegan.errors import CheckpointError
from mobilegan.models.config import batch_norm_kind
from mobilegan.models.unet_config import UnetConfig

_KEY = re.compile(r"^model((?:\.model\.\d+)+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")
_STATS = ("running_mean", "running_var", "num_batches_tracked")
LAYOUT = "official_unet"
DESCRIPTION = "pytorch-CycleGAN-and-pix2pix UnetGenerator (--netG unet_128 / unet_256, latest_net_G.pth)"

# Within each level's Sequential: index -> (our module, part).
_OUTER = {0: ("downs", "conv"), 3: ("ups", "conv")}
_MIDDLE = {1: ("downs", "conv"), 2: ("downs", "norm"), 5: ("ups", "conv"), 6: ("ups", "norm")}
_INNER = {1: ("downs", "conv"), 3: ("ups", "conv"), 4: ("ups", "norm")}


@dataclass(frozen=True)
class ForeignUnet:
    config: UnetConfig
    state_dict: dict[str, torch.Tensor]
    dropped_keys: tuple[str, ...]


def is_official_unet(state: dict[str, torch.Tensor]) -> bool:
    return any(k.startswith("model.model.") for k in state) and all(_KEY.match(k) for k in state)


def _level_and_index(hops: list[int], path: str, key: str) -> tuple[int, int]:
    """``[1, 3, 3, 5]`` -> level 4, layer 5 (level 1 is the outermost)."""
    *down, layer = hops
    if down and (down[0] != 1 or any(h != 3 for h in down[1:])):
        raise CheckpointError(f"{path}: {key} is not where an official UnetGenerator keeps its levels")
    return len(hops), layer


def convert_official_unet(state: dict[str, torch.Tensor], *, path: str = "checkpoint",
                          batch_stats: str = "image") -> ForeignUnet:
    """Map an official ``UnetGenerator`` state dict to our keys and infer its :class:`UnetConfig`.

    ``batch_stats`` (BatchNorm files only): ``"image"`` normalises each image with its own statistics,
    as the official ``test.py`` does without ``--eval`` (norm ``batch_image``); ``"running"`` uses the
    stored statistics (norm ``batch``).
    """
    parsed: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        m = _KEY.match(key)
        if m is None:
            raise CheckpointError(f"{path}: unexpected key {key!r} for an official UnetGenerator")
        hops = [int(h) for h in m[1].split(".model.")[1:]]
        parsed.setdefault(_level_and_index(hops, path, key), {})[m[2]] = value
    n = max(level for level, _ in parsed)
    if n < 2:
        raise CheckpointError(f"{path}: a U-Net needs at least 2 levels, found {n}")

    mapped: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    has_norm_weights = False
    for (level, index), params in sorted(parsed.items()):
        table = _OUTER if level == 1 else _INNER if level == n else _MIDDLE
        if index not in table:
            raise CheckpointError(f"{path}: level {level} has parameters at index {index}, where the official "
                                  "UnetGenerator has none (another network?)")
        where, part = table[index]
        for name, value in params.items():
            if part == "norm" and "weight" not in params and name in _STATS:
                dropped.append(name)  # InstanceNorm running stats of old PyTorch: never used
                continue
            has_norm_weights |= part == "norm" and name == "weight"
            mapped[f"{where}.{level - 1}.{part}.{name}"] = value

    for level in range(1, n + 1):
        for where in ("downs", "ups"):
            if f"{where}.{level - 1}.conv.weight" not in mapped:
                raise CheckpointError(f"{path}: level {level} of {n} has no {where[:-1]} conv weight "
                                      "(a truncated or foreign file?)")
    down1 = mapped["downs.0.conv.weight"]  # (ngf, in, 4, 4)
    if down1.dim() != 4 or down1.shape[-2:] != (4, 4):
        raise CheckpointError(f"{path}: first conv has shape {tuple(down1.shape)}; a U-Net's are 4x4")
    conv_bias = "downs.0.conv.bias" in mapped
    norm = batch_norm_kind(batch_stats) if has_norm_weights else "instance" if conv_bias else "none"
    config = UnetConfig(num_downs=n, ngf=int(down1.shape[0]), norm=norm, layout="official", conv_bias=conv_bias,
                        in_channels=int(down1.shape[1]),
                        out_channels=int(mapped["ups.0.conv.weight"].shape[1]))
    return ForeignUnet(config=config, state_dict=mapped, dropped_keys=tuple(dropped))
