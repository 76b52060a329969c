"""Small model helpers shared by test modules."""

from __future__ import annotations

import torch
from torch import nn


def lively(model: nn.Module, size: int) -> nn.Module:
    """BatchNorm statistics from random images, so a wrong op cannot hide behind a constant output."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return model.eval()
