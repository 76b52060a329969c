"""The CycleGAN ResNet generator (Johnson et al. / Zhu et al.) and its mobile students.

One class covers the paper's ``resnet_9blocks`` / ``resnet_6blocks`` and every student:
the config switches width, depthwise blocks, norm, padding, upsampling and space-to-depth.

    space_to_depth 1 (paper):  c7s1-ngf -> d(2ngf) -> d(4ngf) -> R(4ngf) x n -> u(2ngf) -> u(ngf) -> c7s1-3 -> tanh
    space_to_depth 2:  unshuffle(2) -> c3s1-2ngf -> d(4ngf) -> R(4ngf) x n -> u(2ngf) -> c3s1-12 -> shuffle(2) -> tanh
    space_to_depth 4:  unshuffle(4) -> c3s1-4ngf -> R(4ngf) x n -> c3s1-48 -> shuffle(4) -> tanh

Stage names say where a stage's output lies, so a space-to-depth student and a paper teacher
share them and distillation taps pair them by name: ``down1`` and ``up1`` are at H/2, ``down2``
and the blocks at H/4, ``stem`` and ``up2`` at full resolution (absent when space-to-depth skips
them). With space-to-depth the first stage present is the entry conv (it reads the unshuffled
input) and no convolution runs at full resolution.

Input and output are NCHW float RGB in [-1, 1]. Sides must be multiples of 4.
"""

from __future__ import annotations

import torch
from torch import nn

from mobilegan.models.config import GeneratorConfig
from mobilegan.models.context import ContextEncoder
from mobilegan.models.layers import (
    ConvNormAct,
    DepthwiseResidualBlock,
    ResidualBlock,
    UpsampleConvNormAct,
    norm_factory,
)

_UPSAMPLE_MODE = {"transpose": "transpose", "nearest_conv": "nearest", "bilinear_conv": "bilinear"}
# Encoder / decoder stages present at each space-to-depth factor, in execution order.
_ENCODER = {1: ("stem", "down1", "down2"), 2: ("down1", "down2"), 4: ("down2",)}
_DECODER = {1: ("up1", "up2"), 2: ("up1",), 4: ()}
_STAGE_MULT = {"stem": 1, "down1": 2, "down2": 4, "up1": 2, "up2": 1}


class ResnetGenerator(nn.Module):
    """Stages have stable names so distillation taps them by name: see :meth:`feature_names`."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        s = config.space_to_depth
        c1, c2, c4 = config.channels(1), config.channels(2), config.channels(4)
        norm = norm_factory(config.norm, config.norm_eps)
        bias = config.conv_bias or norm is None
        pad = config.padding
        block = DepthwiseResidualBlock if config.depthwise else ResidualBlock
        up_mode = _UPSAMPLE_MODE[config.upsample]
        tf_same = config.same_padding == "tf"
        if tf_same:
            up_mode = "transpose_tf"
        down_pad = "tf_same" if tf_same else "zero"
        self._encoder, self._decoder = _ENCODER[s], _DECODER[s]

        # (B, 3, H, W) -> (B, 3 s^2, H/s, W/s); Identity for the paper's layout (no parameters either way).
        self.space_to_depth = nn.PixelUnshuffle(s) if s > 1 else nn.Identity()
        entry_in = config.in_channels * s * s
        if s == 1:
            self.stem = ConvNormAct(entry_in, c1, kernel_size=7, padding=pad, norm=norm, act=nn.ReLU, bias=bias)
        if s <= 2:
            # Downsampling convs use zero padding in the paper's code whatever the block padding;
            # the space-to-depth entry conv (stride 1) replaces the stem and pads like it.
            self.down1 = (ConvNormAct(c1, c2, kernel_size=3, stride=2, padding=down_pad, norm=norm, act=nn.ReLU, bias=bias)
                          if s == 1
                          else ConvNormAct(entry_in, c2, kernel_size=3, padding=pad, norm=norm, act=nn.ReLU, bias=bias))
        self.down2 = (ConvNormAct(c2, c4, kernel_size=3, stride=2, padding=down_pad, norm=norm, act=nn.ReLU, bias=bias)
                      if s <= 2
                      else ConvNormAct(entry_in, c4, kernel_size=3, padding=pad, norm=norm, act=nn.ReLU, bias=bias))
        block_kw = {"dw_norm": norm_factory(config.dw_norm, config.norm_eps)} if config.depthwise and config.dw_norm else {}
        self.blocks = nn.Sequential(*(block(c4, padding=pad, norm=norm, bias=bias, dropout=config.dropout, **block_kw)
                                      for _ in range(config.n_blocks)))
        if s <= 2:
            self.up1 = UpsampleConvNormAct(c4, c2, mode=up_mode, norm=norm, bias=bias)
        if s == 1:
            self.up2 = UpsampleConvNormAct(c2, c1, mode=up_mode, norm=norm, bias=bias)
            self.head = ConvNormAct(c1, config.out_channels, kernel_size=7, padding=pad, bias=True)
        else:
            head_in = c2 if s == 2 else c4
            self.head = ConvNormAct(head_in, config.out_channels * s * s, kernel_size=3, padding=pad, bias=True)
        self.depth_to_space = nn.PixelShuffle(s) if s > 1 else nn.Identity()  # (B, 3 s^2, H/s, W/s) -> (B, 3, H, W)
        self.tanh = nn.Tanh()
        if config.context:
            self.context = ContextEncoder(in_channels=config.in_channels, width=config.context,
                                          n_blocks=config.n_blocks, block_channels=c4, hidden=config.context_hidden,
                                          clamp=config.context_clamp)

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this."""
        return self.config.size_multiple

    def feature_names(self) -> list[str]:
        """Names of the intermediate features :meth:`forward_features` returns, in order."""
        blocks = [f"block{i + 1}" for i in range(len(self.blocks))]
        return [*self._encoder, *blocks, *self._decoder]

    def feature_channels(self) -> dict[str, int]:
        out = {name: self.config.channels(_STAGE_MULT[name]) for name in (*self._encoder, *self._decoder)}
        out.update({f"block{i + 1}": self.config.channels(4) for i in range(len(self.blocks))})
        return out

    def context_film(self, image: torch.Tensor) -> torch.Tensor | None:
        """The context descriptor of the whole ``image``, (B, D, 1, 1) (None without a context branch)."""
        return self.context(image) if self.config.context else None

    def forward_features(self, x: torch.Tensor, *, context_image: torch.Tensor | None = None,
                         ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and a dict of every named intermediate feature (for distillation).

        ``context_image``: the whole image ``x`` was cropped from (context students train on crops).
        """
        feats: dict[str, torch.Tensor] = {}
        film = self.context_film(x if context_image is None else context_image)
        h = self.space_to_depth(x)  # (B, 3 s^2, H/s, W/s)
        for name in self._encoder:  # ends at (B, c4, H/4, W/4)
            h = feats[name] = getattr(self, name)(h)
        for i, blk in enumerate(self.blocks):
            h = feats[f"block{i + 1}"] = blk(self._modulate(h, film, i))
        for name in self._decoder:  # ends at (B, c1, H, W), (B, c2, H/2, W/2) or nothing
            h = feats[name] = getattr(self, name)(h)
        return self._output(x, h), feats

    def forward(self, x: torch.Tensor, *, film: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> same. ``film``: the context descriptor computed beforehand (tiles of one photo)."""
        if film is None:
            film = self.context_film(x)
        h = self.space_to_depth(x)
        for name in self._encoder:
            h = getattr(self, name)(h)
        if film is None:
            h = self.blocks(h)
        else:
            for i, blk in enumerate(self.blocks):
                h = blk(self._modulate(h, film, i))
        for name in self._decoder:
            h = getattr(self, name)(h)
        return self._output(x, h)

    def _modulate(self, h: torch.Tensor, film: torch.Tensor | None, i: int) -> torch.Tensor:
        if film is None:
            return h
        scale, shift = self.context.film(film, i)  # (B, C, 1, 1) each
        return h * scale + shift

    def _output(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        y = self.tanh(self.depth_to_space(self.head(h)))
        if self.config.global_skip:
            return torch.clamp(x + y, -1.0, 1.0)
        return y
