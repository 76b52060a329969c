"""Checkpoints: our own format, foreign generator layouts, and safe (data-only) loading."""

from mobilegan.checkpoints.foreign import LAYOUTS, convert_foreign
from mobilegan.checkpoints.loader import (
    LoadedGenerator,
    load_discriminator,
    load_generator,
    load_generator_checkpoint,
)
from mobilegan.checkpoints.native import save_discriminator, save_generator, save_model
from mobilegan.checkpoints.safe_load import read_checkpoint_file
from mobilegan.checkpoints.tf_loader import load_tf_generator

__all__ = [
    "LAYOUTS",
    "LoadedGenerator",
    "convert_foreign",
    "load_discriminator",
    "load_generator",
    "load_generator_checkpoint",
    "load_tf_generator",
    "read_checkpoint_file",
    "save_discriminator",
    "save_generator",
    "save_model",
]
