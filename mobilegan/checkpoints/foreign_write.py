"""Write one of our paper-layout generators as another code base would have saved it.

The inverse of :func:`mobilegan.checkpoints.foreign.convert_foreign`: a ``ResnetGenerator`` with
the paper's layout (no space-to-depth, reflection padding, InstanceNorm or BatchNorm) becomes the
plain state dict of the official ``ResnetGenerator`` (``latest_net_G_A.pth``) or of PyTorch-GAN's
``GeneratorResNet`` (``G_AB_<epoch>.pth``). Used to make realistic foreign teachers for tests and
benchmarks (the teachers users bring), and by anyone moving a mobilegan teacher back to those repos.
Official-layout U-Nets (``UnetGenerator``) are written as the official ``UnetGenerator`` would save them.

Sequential indices, with ``n`` residual blocks (pad / norm / ReLU entries hold no keys):
official: stem 1, down 4 and 7, blocks 10..9+n (``conv_block.1`` / ``.5``), transposed convs
10+n and 13+n, head 17+n. PyTorch-GAN: the same up to the blocks (``block.1`` / ``.5``), then
upsample + conv at 11+n and 15+n, head 19+n.
"""

from __future__ import annotations

import torch

from mobilegan.errors import ConfigError
from mobilegan.models.generator import ResnetGenerator
from mobilegan.models.unet import UnetGenerator

FOREIGN_LAYOUTS = ("official", "pytorch_gan")


def _copy(out: dict[str, torch.Tensor], state: dict[str, torch.Tensor], ours: str, theirs: str, norm_at: str | None,
          ) -> None:
    for name in ("weight", "bias"):
        if f"{ours}.conv.{name}" in state:
            out[f"{theirs}.{name}"] = state[f"{ours}.conv.{name}"].detach().clone()
    if norm_at is not None:  # BatchNorm only: a non-affine InstanceNorm has no keys
        for key, value in state.items():
            if key.startswith(f"{ours}.norm."):
                out[f"{norm_at}.{key.rsplit('.', 1)[-1]}"] = value.detach().clone()


def _unet_official(model: UnetGenerator) -> dict[str, torch.Tensor]:
    """The official ``UnetGenerator`` state dict (see :mod:`mobilegan.checkpoints.foreign_unet` for the
    key paths): level 1 at ``model.model.``, level L at ``model.model.1.model.`` + ``3.model.`` * (L - 2)."""
    c = model.config
    if c.layout != "official" or c.norm not in ("instance", "batch", "batch_image", "none"):
        raise ConfigError("only official-layout U-Nets (InstanceNorm, BatchNorm or no norm) can be written as official")
    n, state = c.num_downs, model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for level in range(1, n + 1):
        prefix = "model.model." if level == 1 else "model.model.1.model." + "3.model." * (level - 2)
        where = ({"downs": 0, "ups": 3} if level == 1 else {"downs": 1, "ups": 3} if level == n
                 else {"downs": 1, "ups": 5})
        for part, idx in where.items():
            ours = f"{part}.{level - 1}"
            _copy(out, state, ours, f"{prefix}{idx}",
                  f"{prefix}{idx + 1}" if c.norm in ("batch", "batch_image") and f"{ours}.norm.weight" in state else None)
    return out


def to_foreign_state_dict(model: ResnetGenerator | UnetGenerator, layout: str) -> dict[str, torch.Tensor]:
    """The state dict ``layout``'s code would have saved for ``model`` (see the module docstring)."""
    if isinstance(model, UnetGenerator):
        if layout != "official":
            raise ConfigError("U-Nets can be written in the official layout only")
        return _unet_official(model)
    c = model.config
    if layout not in FOREIGN_LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; choose one of {', '.join(FOREIGN_LAYOUTS)}")
    wanted_up = "transpose" if layout == "official" else "nearest_conv"
    if (c.space_to_depth != 1 or c.depthwise or c.padding != "reflect" or c.upsample != wanted_up
            or c.norm not in ("instance", "batch", "batch_image") or c.global_skip or c.width != 1.0):
        raise ConfigError(f"only the paper's layout with {wanted_up} upsampling can be written as {layout}")
    if layout == "pytorch_gan" and (c.norm != "instance" or c.dropout > 0):
        raise ConfigError("PyTorch-GAN generators have InstanceNorm and no dropout")
    state = model.state_dict()
    batch = c.norm in ("batch", "batch_image")
    n = c.n_blocks
    out: dict[str, torch.Tensor] = {}
    block_key = "conv_block" if layout == "official" else "block"
    second = 6 if c.dropout > 0 else 5
    for ours, idx in (("stem", 1), ("down1", 4), ("down2", 7)):
        _copy(out, state, ours, f"model.{idx}", f"model.{idx + 1}" if batch else None)
    for b in range(n):
        for which, sub in (("conv1", 1), ("conv2", second)):
            at = f"model.{10 + b}.{block_key}.{sub}"
            _copy(out, state, f"blocks.{b}.{which}", at, f"model.{10 + b}.{block_key}.{sub + 1}" if batch else None)
    ups = (10 + n, 13 + n) if layout == "official" else (11 + n, 15 + n)
    for ours, idx in zip(("up1", "up2"), ups):
        _copy(out, state, ours, f"model.{idx}", f"model.{idx + 1}" if batch else None)
    _copy(out, state, "head", f"model.{(17 if layout == 'official' else 19) + n}", None)
    return out
