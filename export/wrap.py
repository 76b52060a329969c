"""The graph every artifact holds: ``[0, 1] pixels -> x * 2 - 1 -> generator -> (y + 1) / 2``.

Apps only scale bytes (divide by 255 in, multiply by 255 out); the generator's [-1, 1]
normalisation lives inside the exported program. The affine constants are buffers, not
Python scalars: scalars become lifted 0-d tensors that ExecuTorch converts with a
``_to_dim_order_copy`` outside the XNNPACK delegate, which would split the graph.
"""

from __future__ import annotations

import torch
from torch import nn


class PixelRangeWrapper(nn.Module):
    """Generator taking and returning NCHW float RGB in [0, 1]."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.register_buffer("in_scale", torch.full((1, 1, 1, 1), 2.0))
        self.register_buffer("in_shift", torch.full((1, 1, 1, 1), -1.0))
        self.register_buffer("out_scale", torch.full((1, 1, 1, 1), 0.5))
        self.register_buffer("out_shift", torch.full((1, 1, 1, 1), 0.5))

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) in [0, 1] -> same
        x = image * self.in_scale + self.in_shift  # [-1, 1]
        y = self.generator(x)  # (B, 3, H, W) in [-1, 1] (tanh)
        return y * self.out_scale + self.out_shift


def wrap_for_export(generator: nn.Module) -> PixelRangeWrapper:
    """An eval-mode [0, 1] -> [0, 1] wrapper around ``generator`` (shares its weights)."""
    return PixelRangeWrapper(generator).eval()
