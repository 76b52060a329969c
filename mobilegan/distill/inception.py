"""Inception-v3 pool features for FID/KID, only from weights already on this machine.

Nothing is ever downloaded: the weights come from ``--inception-weights PATH`` or from the
torch hub cache (``$TORCH_HOME/hub/checkpoints/inception_v3_google-0cc3c7bd.pth``, where
torchvision would have saved them). Note: this is torchvision's Inception-v3, not the
TF-ported network of the reference FID code, so absolute values are close to but not
identical with published FIDs; compare numbers computed here with each other.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from mobilegan.errors import MobileganError

log = logging.getLogger(__name__)

INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"
FEATURE_DIM = 2048
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)

FeatureFn = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, H, W) in [-1, 1] -> (B, D)


class InceptionUnavailable(MobileganError):
    """No Inception-v3 weights on disk: FID/KID are skipped, the other metrics still run."""


def cached_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def find_inception_weights(explicit: str | os.PathLike[str] | None) -> Path:
    """The weights file to use, or :class:`InceptionUnavailable` saying where to put one."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise MobileganError(f"--inception-weights {path}: no such file")
        return path
    cached = cached_weights_path()
    if cached.is_file():
        return cached
    raise InceptionUnavailable(
        f"FID/KID skipped: no Inception-v3 weights on this machine (looked for {cached}; "
        "pass --inception-weights PATH to a torchvision inception_v3 state dict). Nothing is downloaded."
    )


def load_inception_features(path: Path, device: str | torch.device = "cpu") -> FeatureFn:
    """A function mapping generator-range images to 2048-d pool features."""
    from torchvision.models import inception_v3

    from mobilegan.checkpoints import read_checkpoint_file

    state = read_checkpoint_file(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    net = inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=False)
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise MobileganError(f"{path}: not a torchvision Inception-v3 state dict ({str(exc).splitlines()[0][:160]})") from None
    net.fc = torch.nn.Identity()
    net.eval().to(device)
    mean = torch.tensor(_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=device).view(1, 3, 1, 1)

    @torch.no_grad()
    def features(x: torch.Tensor) -> torch.Tensor:
        x = (x.to(device).float() + 1.0) / 2.0  # (B, 3, H, W) in [0, 1]
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return net((x - mean) / std).flatten(1)  # (B, 2048)

    log.info("Inception-v3 features from %s", path)
    return features
