"""Model registry: ``@register_model`` presets, ``create_model(name, **overrides)``, ``list_models()``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from torch import nn

from mobilegan.errors import ConfigError
from mobilegan.models.config import DiscriminatorConfig, GeneratorConfig
from mobilegan.models.discriminator import PatchDiscriminator
from mobilegan.models.generator import ResnetGenerator
from mobilegan.models.unet import UnetGenerator
from mobilegan.models.unet_config import UnetConfig

Config = GeneratorConfig | UnetConfig | DiscriminatorConfig


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str  # "generator" | "discriminator"
    description: str
    default_config: Callable[[], Config]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, *, kind: str, description: str) -> Callable[[Callable[[], Config]], Callable[[], Config]]:
    """Register a zero-argument function returning the preset's default config."""

    def wrap(fn: Callable[[], Config]) -> Callable[[], Config]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelEntry(name=name, kind=kind, description=description, default_config=fn)
        return fn

    return wrap


def list_models(kind: str | None = None, *, arch: str | None = None) -> list[str]:
    """Registered preset names, optionally only ``"generator"`` or ``"discriminator"`` ones, and only
    generators of one family: ``arch="resnet"`` (the paper's teachers and every student) or ``"unet"``."""
    names = sorted(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)
    if arch is not None:
        names = [n for n in names if getattr(_REGISTRY[n].default_config(), "arch", "resnet") == arch]
    return names


def get_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown model {name!r}{hint}; known: {', '.join(list_models())}") from None


def get_config(name: str, **overrides: Any) -> Config:
    """The preset's config with ``overrides`` applied (validated)."""
    cfg = get_entry(name).default_config()
    allowed = {f.name for f in fields(cfg)}
    bad = sorted(set(overrides) - allowed)
    if bad:
        raise ConfigError(f"{name}: unknown config field(s) {', '.join(bad)}; allowed: {', '.join(sorted(allowed))}")
    return type(cfg)(**{**cfg.to_dict(), **overrides})


def build_model(config: Config) -> nn.Module:
    """Instantiate the module for a config (the inverse of ``model.config``)."""
    if isinstance(config, GeneratorConfig):
        return ResnetGenerator(config)
    if isinstance(config, UnetConfig):
        return UnetGenerator(config)
    if isinstance(config, DiscriminatorConfig):
        return PatchDiscriminator(config)
    raise ConfigError(f"not a model config: {type(config).__name__}")


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered preset, e.g. ``create_model("mobile_w050", norm="batch")``."""
    return build_model(get_config(name, **overrides))


# The presets register themselves on import; importing them here means any way into the
# registry (``mobilegan.models.registry`` directly, or the package) sees them.
from mobilegan.models import presets as _presets  # noqa: E402,F401
