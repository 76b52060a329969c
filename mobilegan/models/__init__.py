"""Models: configs, layers, the generator family, the discriminator and the registry."""

from mobilegan.models import presets as _presets  # noqa: F401  (registers the presets)
from mobilegan.models.config import DiscriminatorConfig, GeneratorConfig, make_divisible
from mobilegan.models.discriminator import PatchDiscriminator
from mobilegan.models.generator import ResnetGenerator
from mobilegan.models.layers import InstanceNormDecomposed
from mobilegan.models.presets import DEFAULT_STUDENT
from mobilegan.models.registry import build_model, create_model, get_config, list_models, register_model

__all__ = [
    "DEFAULT_STUDENT",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "InstanceNormDecomposed",
    "PatchDiscriminator",
    "ResnetGenerator",
    "build_model",
    "create_model",
    "get_config",
    "list_models",
    "make_divisible",
    "register_model",
]
