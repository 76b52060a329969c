"""Turn what a user typed (a registry name or a checkpoint path) into a generator."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from mobilegan.checkpoints.loader import load_generator_checkpoint
from mobilegan.checkpoints.tf_loader import is_tf_or_keras
from mobilegan.errors import MobileganError
from mobilegan.models.registry import create_model, get_entry, list_models


def model_from_name_or_path(spec: str, device: str = "cpu") -> tuple[nn.Module, str]:
    """``(model, description)`` for a registry name or a checkpoint file."""
    if spec in list_models("generator"):
        return create_model(spec).to(device).eval(), f"registry model {spec}"
    path = Path(spec)
    if path.exists() or any(sep in spec for sep in ("/", "\\")) or path.suffix in (".pt", ".pth", ".ckpt", ".safetensors") \
            or is_tf_or_keras(spec):
        loaded = load_generator_checkpoint(path, device)
        return loaded.model, f"{path} ({loaded.layout} layout)"
    try:
        get_entry(spec)
    except MobileganError as exc:
        raise MobileganError(f"{exc}; or give a checkpoint file path") from None
    raise MobileganError(f"{spec!r} is not a generator")  # a registered discriminator
