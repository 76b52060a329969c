"""mobilegan: distill CycleGAN generators into mobile students and ship them to phones.

The public names below are imported on first use (PEP 562), so ``import mobilegan`` and the
CLI's ``--help`` / ``--version`` / argument errors do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mobilegan.version import __version__

if TYPE_CHECKING:
    from mobilegan.checkpoints import load_generator, load_generator_checkpoint, save_generator
    from mobilegan.errors import MobileganError
    from mobilegan.models import DEFAULT_STUDENT, GeneratorConfig, create_model, list_models
    from mobilegan.profile import profile_model

_LAZY: dict[str, str] = {
    "load_generator": "mobilegan.checkpoints",
    "load_generator_checkpoint": "mobilegan.checkpoints",
    "save_generator": "mobilegan.checkpoints",
    "MobileganError": "mobilegan.errors",
    "DEFAULT_STUDENT": "mobilegan.models",
    "GeneratorConfig": "mobilegan.models",
    "create_model": "mobilegan.models",
    "list_models": "mobilegan.models",
    "profile_model": "mobilegan.profile",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mobilegan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
