"""Models: configs, layers, the generator family, the discriminator and the registry.

Names are imported on first use (PEP 562): ``mobilegan.models.config`` (pure dataclasses) can be
imported without torch, which keeps the CLI's argument parsing fast. The presets register
themselves when :mod:`mobilegan.models.registry` is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mobilegan.models.config import DiscriminatorConfig, GeneratorConfig, make_divisible
    from mobilegan.models.discriminator import PatchDiscriminator
    from mobilegan.models.generator import ResnetGenerator
    from mobilegan.models.layers import InstanceNormDecomposed
    from mobilegan.models.presets import DEFAULT_STUDENT
    from mobilegan.models.registry import build_model, create_model, get_config, list_models, register_model

_LAZY: dict[str, str] = {
    "DEFAULT_STUDENT": "mobilegan.models.presets",
    "DiscriminatorConfig": "mobilegan.models.config",
    "GeneratorConfig": "mobilegan.models.config",
    "InstanceNormDecomposed": "mobilegan.models.layers",
    "PatchDiscriminator": "mobilegan.models.discriminator",
    "ResnetGenerator": "mobilegan.models.generator",
    "build_model": "mobilegan.models.registry",
    "create_model": "mobilegan.models.registry",
    "get_config": "mobilegan.models.registry",
    "list_models": "mobilegan.models.registry",
    "make_divisible": "mobilegan.models.config",
    "register_model": "mobilegan.models.registry",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mobilegan.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
