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


def trained_context(model: nn.Module, size: int, std: float = 0.05) -> nn.Module:
    """A context student as training leaves it: FiLM convs that read the descriptor (they start at zero,
    which would hide the whole context branch from a parity test) and a context clamp measured on a few
    dull images, so that random test inputs fall partly outside it and the clamp's ops are exercised."""
    from mobilegan.distill.context_range import calibrate_context_range

    if not getattr(model.config, "context", 0):
        return model
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for conv in (*model.context.scale, *model.context.shift):
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * std)
    if model.config.context_clamp:
        dull = torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(3)) * 0.6 - 0.3
        calibrate_context_range(model, list(dull))
    return model.eval()


def one_per_structure(names: list[str], **overrides: object) -> list[str]:
    """The first of ``names`` for each distinct graph structure: presets whose configs (with ``overrides``)
    differ only in width (``width``, ``ngf``) give the same ops and layers, so a test that checks what a
    converter does with each op need not convert both."""
    import dataclasses

    from mobilegan.models import get_config

    seen: list[object] = []
    kept = []
    for name in names:
        cfg = get_config(name).with_overrides(**overrides) if overrides else get_config(name)
        key = dataclasses.replace(cfg, width=1.0, ngf=64)
        if key not in seen:
            seen.append(key)
            kept.append(name)
    return kept
