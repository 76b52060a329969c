"""Generators saved by other CycleGAN code bases, mapped onto :class:`ResnetGenerator`.

Supported layouts (plain state dicts of an ``nn.Sequential`` called ``model``):

* ``official`` — junyanz/pytorch-CycleGAN-and-pix2pix ``ResnetGenerator`` (``latest_net_G_A.pth``):
  residual convs at ``model.K.conv_block.1`` / ``.5`` (``.6`` with dropout), ConvTranspose2d
  upsampling (weights ``[in, out, 3, 3]``), InstanceNorm (or BatchNorm with ``--norm batch``).
* ``pytorch_gan`` — eriklindernoren/PyTorch-GAN ``GeneratorResNet`` (``G_AB_<epoch>.pth``):
  residual convs at ``model.K.block.1`` / ``.5``, nearest x2 upsample followed by a 3x3 conv.

The config (ngf, blocks, upsampling, norm, dropout) is inferred from tensor shapes; the layer
order is read from the Sequential indices, so any number of blocks works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from mobilegan.errors import CheckpointError
from mobilegan.models.config import GeneratorConfig, batch_norm_kind

_TOP = re.compile(r"^model\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")
_BLOCK = re.compile(r"^model\.(\d+)\.(conv_block|block)\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")
_STATS = ("running_mean", "running_var", "num_batches_tracked")

LAYOUTS = {
    "official": "pytorch-CycleGAN-and-pix2pix ResnetGenerator (latest_net_G_A.pth)",
    "pytorch_gan": "PyTorch-GAN GeneratorResNet (G_AB_<epoch>.pth)",
}


@dataclass(frozen=True)
class ForeignGenerator:
    layout: str
    config: GeneratorConfig
    state_dict: dict[str, torch.Tensor]
    dropped_keys: tuple[str, ...]


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove ``module.`` (DataParallel/DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def detect_layout(state: dict[str, torch.Tensor]) -> str | None:
    keys = list(state)
    if any(".conv_block." in k for k in keys) and any(k.startswith("model.") for k in keys):
        return "official"
    if any(re.match(r"^model\.\d+\.block\.", k) for k in keys):
        return "pytorch_gan"
    return None


class _Layer:
    """Parameters of one Sequential entry, e.g. ``model.4``."""

    def __init__(self) -> None:
        self.params: dict[str, torch.Tensor] = {}

    @property
    def is_conv(self) -> bool:
        w = self.params.get("weight")
        return w is not None and w.dim() == 4

    @property
    def is_norm(self) -> bool:
        return "running_mean" in self.params or ("weight" in self.params and self.params["weight"].dim() == 1)


def _group(state: dict[str, torch.Tensor], path: str) -> tuple[dict[int, _Layer], dict[int, dict[int, _Layer]], list[str]]:
    top: dict[int, _Layer] = {}
    blocks: dict[int, dict[int, _Layer]] = {}
    unknown: list[str] = []
    for key, value in state.items():
        if m := _TOP.match(key):
            top.setdefault(int(m[1]), _Layer()).params[m[2]] = value
        elif m := _BLOCK.match(key):
            blocks.setdefault(int(m[1]), {}).setdefault(int(m[3]), _Layer()).params[m[4]] = value
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{path}: unexpected key(s) for a CycleGAN ResNet generator: {', '.join(unknown[:4])}")
    return top, blocks, unknown


def _norm_after(layers: dict[int, _Layer], index: int) -> _Layer | None:
    nxt = layers.get(index + 1)
    return nxt if nxt is not None and nxt.is_norm and not nxt.is_conv else None


def _put(out: dict[str, torch.Tensor], prefix: str, conv: _Layer, norm: _Layer | None, batch: bool) -> None:
    for name, value in conv.params.items():
        out[f"{prefix}.conv.{name}"] = value
    if batch:
        if norm is None or "weight" not in norm.params:
            raise CheckpointError(f"BatchNorm parameters missing after {prefix}")
        for name, value in norm.params.items():
            out[f"{prefix}.norm.{name}"] = value


def convert_foreign(state: dict[str, torch.Tensor], *, path: str = "checkpoint",
                    batch_stats: str = "image") -> ForeignGenerator:
    """Map a foreign state dict to our key names and infer its :class:`GeneratorConfig`.

    ``batch_stats`` (official ``--norm batch`` generators only): ``"image"`` normalises each image with
    its own statistics, as the official test.py does without --eval (norm ``batch_image``);
    ``"running"`` uses the stored running statistics, as test.py --eval does (norm ``batch``)."""
    state = strip_prefixes(state)
    layout = detect_layout(state)
    if layout is None:
        raise CheckpointError(f"{path}: unknown layout")
    top, blocks, _ = _group(state, path)
    convs = sorted(i for i, layer in top.items() if layer.is_conv)
    block_ids = sorted(blocks)
    if len(convs) != 6:
        raise CheckpointError(
            f"{path}: expected 6 non-residual convs in a {LAYOUTS[layout]}, found {len(convs)} "
            "(U-Net and other generators are not supported)"
        )
    stem_i, d1_i, d2_i, u1_i, u2_i, head_i = convs
    if not block_ids or not (d2_i < block_ids[0] and block_ids[-1] < u1_i):
        raise CheckpointError(f"{path}: residual blocks are not between the downsampling and upsampling layers")

    stem_w = top[stem_i].params["weight"]
    ngf = stem_w.shape[0]
    batch = any(_norm_after(top, i) is not None and "weight" in _norm_after(top, i).params for i in convs[:-1])

    u1_w = top[u1_i].params["weight"]  # ConvTranspose2d: [in, out, k, k]; Conv2d: [out, in, k, k]
    if u1_w.shape[0] == 4 * ngf and u1_w.shape[1] == 2 * ngf:
        upsample = "transpose"
    elif u1_w.shape[0] == 2 * ngf and u1_w.shape[1] == 4 * ngf:
        upsample = "nearest_conv"
    else:
        raise CheckpointError(f"{path}: upsampling weight shape {tuple(u1_w.shape)} does not fit ngf={ngf}")
    if layout == "official" and upsample != "transpose":
        raise CheckpointError(f"{path}: official-layout generator without ConvTranspose2d upsampling is not supported")

    # Inside a block: conv sub-indices tell dropout (official: conv at 1 and 6) and padding.
    first_block = blocks[block_ids[0]]
    sub_convs = sorted(i for i, layer in first_block.items() if layer.is_conv)
    if len(sub_convs) != 2:
        raise CheckpointError(f"{path}: residual block with {len(sub_convs)} convs (expected 2)")
    if sub_convs[0] == 0:
        raise CheckpointError(f"{path}: residual blocks with zero padding (padding_type='zero') are not supported")
    dropout = 0.5 if layout == "official" and sub_convs[1] - sub_convs[0] == 5 else 0.0

    mapped: dict[str, torch.Tensor] = {}
    names = {stem_i: "stem", d1_i: "down1", d2_i: "down2", u1_i: "up1", u2_i: "up2"}
    for idx, prefix in names.items():
        _put(mapped, prefix, top[idx], _norm_after(top, idx), batch)
    _put(mapped, "head", top[head_i], None, False)
    for n, b in enumerate(block_ids):
        layers = blocks[b]
        convs_b = sorted(i for i, layer in layers.items() if layer.is_conv)
        if convs_b != sub_convs:
            raise CheckpointError(f"{path}: residual block model.{b} differs from the first block")
        for which, ci in zip(("conv1", "conv2"), convs_b):
            _put(mapped, f"blocks.{n}.{which}", layers[ci], _norm_after(layers, ci), batch)

    config = GeneratorConfig(
        ngf=ngf,
        n_blocks=len(block_ids),
        norm=batch_norm_kind(batch_stats) if batch else "instance",
        padding="reflect",
        upsample=upsample,
        conv_bias="bias" in top[d1_i].params,
        dropout=dropout,
        in_channels=stem_w.shape[1],
        out_channels=top[head_i].params["weight"].shape[0],
    )
    if not batch:
        # InstanceNorm without affine: old files carry running stats that the network never used.
        mapped = {k: v for k, v in mapped.items() if not k.rsplit(".", 1)[-1] in _STATS}
    dropped = tuple(sorted(k for k in state if k.rsplit(".", 1)[-1] in _STATS)) if not batch else ()
    return ForeignGenerator(layout=layout, config=config, state_dict=mapped, dropped_keys=dropped)
