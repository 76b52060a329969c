"""PatchGAN discriminator: C64-C128-C256-C512 then a 1-channel conv (70x70 patches at n_layers=3)."""

from __future__ import annotations

import torch
from torch import nn

from mobilegan.models.config import DiscriminatorConfig
from mobilegan.models.layers import norm_factory


class _LeakyReLU(nn.LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.2, inplace=False)


class PatchDiscriminator(nn.Module):
    """k4 convs; stride 2 except the last two; no norm on the first layer (as in the paper)."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        norm = norm_factory(config.norm)
        bias = norm is None or config.norm.startswith("instance")
        layers: list[nn.Module] = [nn.Conv2d(config.in_channels, config.ndf, 4, stride=2, padding=1), _LeakyReLU()]
        ch = config.ndf
        for i in range(1, config.n_layers + 1):
            out = config.ndf * min(2**i, 8)
            stride = 2 if i < config.n_layers else 1
            layers.append(nn.Conv2d(ch, out, 4, stride=stride, padding=1, bias=bias))
            if norm is not None:
                layers.append(norm(out))
            layers.append(_LeakyReLU())
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(ch, 1, 4, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 1, H/8 - 2, W/8 - 2)
        return self.head(self.features(x))
