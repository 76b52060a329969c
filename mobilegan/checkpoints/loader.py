"""``load_generator``: any supported generator checkpoint -> an eval-mode generator
(``ResnetGenerator`` or ``UnetGenerator``).

Unsupported files get a :class:`CheckpointError` that says what the file looks like and
which layouts are supported.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.checkpoints.foreign import LAYOUTS, convert_foreign, detect_layout, strip_prefixes
from mobilegan.checkpoints.foreign_unet import DESCRIPTION as UNET_DESCRIPTION
from mobilegan.checkpoints.foreign_unet import LAYOUT as UNET_LAYOUT
from mobilegan.checkpoints.foreign_unet import convert_official_unet, is_official_unet
from mobilegan.checkpoints.native import FORMAT_VERSION, is_native
from mobilegan.checkpoints.safe_load import read_checkpoint_file
from mobilegan.checkpoints.tf_loader import TF_LAYOUTS, is_tf_or_keras, load_tf_generator
from mobilegan.errors import CheckpointError, ConfigError
from mobilegan.models.config import BATCH_STATS, DiscriminatorConfig, GeneratorConfig, generator_config_from_dict
from mobilegan.models.unet_config import UnetConfig
from mobilegan.models.registry import build_model

log = logging.getLogger(__name__)

SUPPORTED = "supported: mobilegan generator checkpoints, " + ", ".join([*LAYOUTS.values(), UNET_DESCRIPTION, *TF_LAYOUTS.values()])
# Keys under which people nest a generator's state dict in their own files.
_WRAPPER_KEYS = ("state_dict", "model", "generator", "netG", "G", "G_A", "G_AB", "model_state_dict", "params")


@dataclass
class LoadedGenerator:
    model: nn.Module
    config: GeneratorConfig | UnetConfig
    layout: str  # "mobilegan", "official", "pytorch_gan" or "official_unet"
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def describe_content(obj: Any) -> str:
    """A short human description of what a non-generator file holds."""
    if is_native(obj):
        return f"a mobilegan {obj.get('kind', 'unknown')} checkpoint"
    if isinstance(obj, dict):
        if "param_groups" in obj and "state" in obj:
            return "an optimizer state"
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors:
            weights = [v for k, v in tensors.items() if k.endswith("weight") and v.dim() == 4]
            if weights and weights[-1].shape[0] == 1 and weights[-1].shape[-1] == 4:
                return "a PatchGAN discriminator state dict"
            sample = ", ".join(list(tensors)[:3])
            return f"a state dict of an unknown network (keys like {sample})"
        keys = ", ".join(str(k) for k in list(obj)[:5])
        return f"a dict without generator weights (keys: {keys})" if obj else "an empty dict"
    return f"a {type(obj).__name__}, not a state dict"


def _unwrap(obj: Any) -> Any:
    """Find a state dict nested under a common wrapper key (one or two levels)."""
    for _ in range(2):
        if not isinstance(obj, dict) or is_native(obj):
            return obj
        if any(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        else:
            return obj
    return obj


def _from_native(obj: dict[str, Any], path: Path) -> LoadedGenerator:
    if obj.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by a newer mobilegan (format {obj.get('format_version')}); upgrade mobilegan to load it"
        )
    kind = obj.get("kind")
    if kind != "generator":
        hint = " (pass G_AB.pt / G_BA.pt from the run folder)" if kind == "training_state" else ""
        raise CheckpointError(f"{path}: this is a mobilegan {kind} checkpoint, not a generator{hint}")
    try:
        config = generator_config_from_dict(obj["config"])
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"{path}: invalid generator config: {exc}") from None
    model = build_model(config)
    state = obj.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint has no state_dict")
    _load_strict(model, state, path)
    return LoadedGenerator(model=model, config=config, layout="mobilegan", meta=dict(obj.get("meta") or {}), path=path)


def _load_strict(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        detail = str(exc).replace("\n", " ").replace("\t", "")
        raise CheckpointError(f"{path}: weights do not match the config ({first} {detail[len(first):][:200]})") from None


def _batch_stats_words(batch_stats: str) -> str:
    return ("each image's own statistics, as the official test.py does without --eval (batch_stats='running' "
            "uses the stored ones)" if batch_stats == "image" else "the stored running statistics (eval mode)")


def load_generator_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu", *,
                              batch_stats: str = "image") -> LoadedGenerator:
    """Load and describe a generator checkpoint of any supported layout.

    ``batch_stats`` applies to official BatchNorm generators (U-Net or ResNet): ``"image"`` (default)
    reproduces the official ``test.py`` (each image normalised with its own statistics), ``"running"``
    uses the stored ones.
    """
    if batch_stats not in BATCH_STATS:
        raise ConfigError(f"batch_stats must be one of {', '.join(BATCH_STATS)} (got {batch_stats!r})")
    if is_tf_or_keras(path):
        return _from_tf_or_keras(path, device)
    path = Path(path)
    obj = _unwrap(read_checkpoint_file(path))
    if is_native(obj):
        loaded = _from_native(obj, path)
    elif isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()) \
            and is_official_unet(strip_prefixes(obj)):
        unet = convert_official_unet(strip_prefixes(obj), path=str(path), batch_stats=batch_stats)
        model = build_model(unet.config)
        _load_strict(model, unet.state_dict, path)
        if unet.dropped_keys:
            log.info("%s: ignored %d InstanceNorm running-stat keys (unused by the network)", path, len(unet.dropped_keys))
        if unet.config.norm in ("batch", "batch_image"):
            log.info("%s: BatchNorm U-Net normalised with %s", path, _batch_stats_words(batch_stats))
        loaded = LoadedGenerator(model=model, config=unet.config, layout=UNET_LAYOUT, meta={}, path=path)
    elif isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        layout = detect_layout(strip_prefixes(obj))
        if layout is None:
            raise CheckpointError(f"{path}: not a generator checkpoint: found {describe_content(obj)}; {SUPPORTED}")
        foreign = convert_foreign(obj, path=str(path), batch_stats=batch_stats)
        model = build_model(foreign.config)
        _load_strict(model, foreign.state_dict, path)
        if foreign.config.norm in ("batch", "batch_image"):
            log.info("%s: BatchNorm ResNet normalised with %s", path, _batch_stats_words(batch_stats))
        if foreign.dropped_keys:
            log.info("%s: ignored %d InstanceNorm running-stat keys (unused by the network)", path, len(foreign.dropped_keys))
        loaded = LoadedGenerator(model=model, config=foreign.config, layout=foreign.layout, meta={}, path=path)
    else:
        raise CheckpointError(f"{path}: not a generator checkpoint: found {describe_content(obj)}; {SUPPORTED}")
    loaded.model.to(device).eval()
    return loaded


def _from_tf_or_keras(spec: str | os.PathLike[str], device: str | torch.device) -> LoadedGenerator:
    """TF checkpoints and Keras weight files (``spec`` may end in ``:NAME`` to pick a model of the file).

    A TF BatchNorm U-Net uses its moving statistics, as ``model(x)`` does in TensorFlow (``batch_stats``
    is for official PyTorch U-Nets)."""
    foreign = load_tf_generator(spec)
    model = build_model(foreign.config)
    _load_strict(model, foreign.state_dict, Path(foreign.file))
    meta = {"foreign": foreign.info}
    loaded = LoadedGenerator(model=model, config=foreign.config, layout=foreign.layout, meta=meta, path=Path(str(spec)))
    loaded.model.to(device).eval()
    return loaded


def load_generator(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> nn.Module:
    """Load any supported generator checkpoint; the model is in eval mode on ``device``."""
    return load_generator_checkpoint(path, device).model


def load_discriminator(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> nn.Module:
    """Load a mobilegan discriminator checkpoint."""
    path = Path(path)
    obj = read_checkpoint_file(path)
    if not is_native(obj) or obj.get("kind") != "discriminator":
        raise CheckpointError(f"{path}: not a mobilegan discriminator checkpoint: found {describe_content(obj)}")
    try:
        config = DiscriminatorConfig.from_dict(obj["config"])
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"{path}: invalid discriminator config: {exc}") from None
    model = build_model(config)
    _load_strict(model, obj.get("state_dict") or {}, path)
    return model.to(device).eval()
