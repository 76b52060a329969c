"""U-Net generators (pix2pix / CycleGAN ``--netG unet_128`` / ``unet_256``, the TF tutorial's).

    down1 .. downN: conv k4 s2 (H/2 .. H/2**N), up(N-1) .. up1: convT k4 s2 (H/2**(N-1) .. H/2),
    then a last convT k4 s2 to the image and tanh. Level k's skip joins up(k-1)'s input.

Stage names say where a feature lies, as in :class:`~mobilegan.models.generator.ResnetGenerator`:
``downK`` is at H/2**K and ``upK`` at H/2**K, so a ResNet student's ``down2`` (H/4) and ``up1``
(H/2) pair with the U-Net's stages of the same names. The maths of each layout is described in
:mod:`mobilegan.models.unet_config`. Dropout is never applied (inference is deterministic).

Input and output are NCHW float RGB in [-1, 1]; sides must be multiples of ``2 ** num_downs``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mobilegan.models.layers import AffineInstanceNorm, ImageStatsBatchNorm
from mobilegan.models.unet_config import UnetConfig


def _norm(config: UnetConfig, channels: int) -> nn.Module:
    if config.norm == "instance":
        return nn.InstanceNorm2d(channels, eps=config.norm_eps, affine=False, track_running_stats=False)
    if config.norm == "instance_affine":  # TF pix2pix InstanceNormalization (scale, offset)
        return AffineInstanceNorm(channels, eps=config.norm_eps)
    if config.norm == "batch_image":  # each image's own statistics (official test.py without --eval)
        return ImageStatsBatchNorm(channels, eps=config.norm_eps)
    return nn.BatchNorm2d(channels, eps=config.norm_eps)


class UnetLevel(nn.Module):
    """One conv (``conv``) and its optional norm (``norm``): submodule names the loaders map onto."""

    def __init__(self, conv: nn.Module, norm: nn.Module | None) -> None:
        super().__init__()
        self.conv = conv
        if norm is not None:
            self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.norm(y) if hasattr(self, "norm") else y


class UnetGenerator(nn.Module):
    """``downs[k-1]`` is down level k, ``ups[k-1]`` the transposed conv that produces level k-1's
    resolution (``ups[0]`` makes the image)."""

    def __init__(self, config: UnetConfig) -> None:
        super().__init__()
        self.config = config
        n, tf = config.num_downs, config.layout == "tf"
        use_norm = config.norm != "none"
        bias = config.conv_bias
        width = config.level_channels
        downs, ups = [], []
        for k in range(1, n + 1):
            c_in = config.in_channels if k == 1 else width(k - 1)
            # The first level never has a norm; the official innermost level has none either.
            has_norm = use_norm and k > 1 and (tf or k < n)
            conv = nn.Conv2d(c_in, width(k), 4, stride=2, padding=1, bias=bias)
            downs.append(UnetLevel(conv, _norm(config, width(k)) if has_norm else None))
        for k in range(1, n + 1):
            c_in = width(k) if k == n else 2 * width(k)
            c_out = config.out_channels if k == 1 else width(k - 1)
            conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=True if k == 1 else bias)
            ups.append(UnetLevel(conv, _norm(config, c_out) if use_norm and k > 1 else None))
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def feature_names(self) -> list[str]:
        n = self.config.num_downs
        return [*(f"down{k}" for k in range(1, n + 1)), *(f"up{k}" for k in range(n - 1, 0, -1))]

    def feature_channels(self) -> dict[str, int]:
        n, width = self.config.num_downs, self.config.level_channels
        out = {f"down{k}": width(k) for k in range(1, n + 1)}
        out.update({f"up{k}": width(k) for k in range(1, n)})
        return out

    def context_film(self, image: torch.Tensor) -> None:
        return None

    def forward_features(self, x: torch.Tensor, *, context_image: torch.Tensor | None = None,
                         ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        feats: dict[str, torch.Tensor] = {}
        return self._run(x, feats), feats

    def forward(self, x: torch.Tensor, *, film: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, out, H, W); H, W multiples of ``2 ** num_downs``."""
        return self._run(x, None)

    def _run(self, x: torch.Tensor, feats: dict[str, torch.Tensor] | None) -> torch.Tensor:
        cfg = self.config
        tf, slope, n = cfg.layout == "tf", cfg.leaky_slope, cfg.num_downs
        skips: list[torch.Tensor] = []
        h = x
        for k, level in enumerate(self.downs, start=1):
            if tf:
                h = F.leaky_relu(level(h), slope)
            else:
                h = level(h if k == 1 else F.leaky_relu(h, slope))
            skips.append(h)
            if feats is not None:
                feats[f"down{k}"] = h
        for k in range(n, 0, -1):  # ups[k-1]: H/2**k -> H/2**(k-1)
            level = self.ups[k - 1]
            if k == 1:
                return torch.tanh(level(h) if tf else level(F.relu(h)))
            u = F.relu(level(h)) if tf else level(F.relu(h))
            if feats is not None:
                feats[f"up{k - 1}"] = u
            h = torch.cat([u, skips[k - 2]] if tf else [skips[k - 2], u], dim=1)
        raise AssertionError("unreachable: the loop returns at k == 1")
