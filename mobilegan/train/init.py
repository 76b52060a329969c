"""The paper's weight initialisation: N(0, 0.02) for convs, N(1, 0.02) for norm scales."""

from __future__ import annotations

from torch import nn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)


def init_weights(module: nn.Module, *, std: float = 0.02) -> nn.Module:
    """Initialise ``module`` in place (returns it)."""
    for m in module.modules():
        if isinstance(m, _CONVS):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
