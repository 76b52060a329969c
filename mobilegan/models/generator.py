"""The CycleGAN ResNet generator (Johnson et al. / Zhu et al.) and its mobile students.

One class covers the paper's ``resnet_9blocks`` / ``resnet_6blocks`` and every student:
the config switches width, depthwise blocks, norm, padding and upsampling.

    c7s1-ngf -> d(2ngf) -> d(4ngf) -> R(4ngf) x n_blocks -> u(2ngf) -> u(ngf) -> c7s1-3 -> tanh

Input and output are NCHW float RGB in [-1, 1]. Sides must be multiples of 4.
"""

from __future__ import annotations

import torch
from torch import nn

from mobilegan.models.config import GeneratorConfig
from mobilegan.models.layers import (
    ConvNormAct,
    DepthwiseResidualBlock,
    ResidualBlock,
    UpsampleConvNormAct,
    norm_factory,
)

_UPSAMPLE_MODE = {"transpose": "transpose", "nearest_conv": "nearest", "bilinear_conv": "bilinear"}


class ResnetGenerator(nn.Module):
    """Stages have stable names so distillation taps them by name: see :meth:`feature_names`."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2, c4 = config.channels(1), config.channels(2), config.channels(4)
        norm = norm_factory(config.norm)
        bias = config.conv_bias or norm is None
        pad = config.padding
        block = DepthwiseResidualBlock if config.depthwise else ResidualBlock
        up_mode = _UPSAMPLE_MODE[config.upsample]

        self.stem = ConvNormAct(config.in_channels, c1, kernel_size=7, padding=pad, norm=norm, act=nn.ReLU, bias=bias)
        # Downsampling convs use zero padding in the paper's code whatever the block padding.
        self.down1 = ConvNormAct(c1, c2, kernel_size=3, stride=2, norm=norm, act=nn.ReLU, bias=bias)
        self.down2 = ConvNormAct(c2, c4, kernel_size=3, stride=2, norm=norm, act=nn.ReLU, bias=bias)
        self.blocks = nn.Sequential(
            *(block(c4, padding=pad, norm=norm, bias=bias, dropout=config.dropout) for _ in range(config.n_blocks))
        )
        self.up1 = UpsampleConvNormAct(c4, c2, mode=up_mode, norm=norm, bias=bias)
        self.up2 = UpsampleConvNormAct(c2, c1, mode=up_mode, norm=norm, bias=bias)
        self.head = ConvNormAct(c1, config.out_channels, kernel_size=7, padding=pad, bias=True)
        self.tanh = nn.Tanh()

    def feature_names(self) -> list[str]:
        """Names of the intermediate features :meth:`forward_features` returns, in order."""
        blocks = [f"block{i + 1}" for i in range(len(self.blocks))]
        return ["stem", "down1", "down2", *blocks, "up1", "up2"]

    def feature_channels(self) -> dict[str, int]:
        c1, c2, c4 = self.config.channels(1), self.config.channels(2), self.config.channels(4)
        out = {"stem": c1, "down1": c2, "down2": c4, "up1": c2, "up2": c1}
        out.update({f"block{i + 1}": c4 for i in range(len(self.blocks))})
        return out

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and a dict of every named intermediate feature (for distillation)."""
        feats: dict[str, torch.Tensor] = {}
        h = feats["stem"] = self.stem(x)  # (B, c1, H, W)
        h = feats["down1"] = self.down1(h)  # (B, c2, H/2, W/2)
        h = feats["down2"] = self.down2(h)  # (B, c4, H/4, W/4)
        for i, blk in enumerate(self.blocks):
            h = feats[f"block{i + 1}"] = blk(h)
        h = feats["up1"] = self.up1(h)  # (B, c2, H/2, W/2)
        h = feats["up2"] = self.up2(h)  # (B, c1, H, W)
        return self._output(x, h), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) in [-1, 1] -> same
        h = self.down2(self.down1(self.stem(x)))
        h = self.blocks(h)
        h = self.up2(self.up1(h))
        return self._output(x, h)

    def _output(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        y = self.tanh(self.head(h))
        if self.config.global_skip:
            return torch.clamp(x + y, -1.0, 1.0)
        return y
