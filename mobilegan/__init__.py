"""mobilegan: distill CycleGAN generators into mobile students and ship them to phones."""

from mobilegan.checkpoints import load_generator, load_generator_checkpoint, save_generator
from mobilegan.errors import MobileganError
from mobilegan.models import DEFAULT_STUDENT, GeneratorConfig, create_model, list_models
from mobilegan.profile import profile_model
from mobilegan.version import __version__

__all__ = [
    "DEFAULT_STUDENT",
    "GeneratorConfig",
    "MobileganError",
    "__version__",
    "create_model",
    "list_models",
    "load_generator",
    "load_generator_checkpoint",
    "profile_model",
    "save_generator",
]
