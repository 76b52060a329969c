"""Weight initialisation: the paper's N(0, 0.02), and a signal-preserving one for unnormalised generators.

The paper's small N(0, 0.02) weights are harmless when every conv is followed by a norm, which
rescales the signal. Without a norm (``--norm none``) each layer shrinks it about 20-fold, so the
output of a fresh generator is a constant to 1e-5 and its deep layers learn almost nothing:
measured here, a global-skip generator initialised that way stayed exactly at the identity for
500 CycleGAN steps. :func:`init_unnormalised` uses He initialisation instead, with each residual
branch's last conv scaled down (the blocks start close to their skips), so every layer sees a
signal of order one. The output conv is not scaled down: a global-skip generator that starts at
the exact identity sits in the dead zone of the L1 cycle and identity losses (like a lasso at
zero) and the adversarial gradient never moves it; starting from a random change it learns.
"""

from __future__ import annotations

import logging

from torch import nn

from mobilegan.models.layers import DepthwiseResidualBlock, ResidualBlock

log = logging.getLogger(__name__)

_CONVS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)
BRANCH_SCALE = 0.1  # residual branches start at a tenth of He scale (as in EDSR / Fixup-style schemes)


def init_weights(module: nn.Module, *, std: float = 0.02) -> nn.Module:
    """The paper's initialisation of ``module``, in place (returns it)."""
    for m in module.modules():
        if isinstance(m, _CONVS):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def init_unnormalised(model: nn.Module) -> nn.Module:
    """He-normal convs for a model without norms; a generator's residual-branch ends start small."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in model.modules():
        last = (m.conv2 if isinstance(m, ResidualBlock) else m.conv_pw2 if isinstance(m, DepthwiseResidualBlock)
                else None)
        if last is not None:
            last.conv.weight.data.mul_(BRANCH_SCALE)
    return model


def init_model(model: nn.Module) -> nn.Module:
    """The paper's initialisation, or :func:`init_unnormalised` for a model configured with ``norm='none'``."""
    config = getattr(model, "config", None)
    if getattr(config, "norm", None) == "none":
        log.info("%s without normalisation: He initialisation (the paper's N(0, 0.02) would vanish)",
                 type(model).__name__)
        return init_unnormalised(model)
    return init_weights(model)
