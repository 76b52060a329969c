"""Image decoding and unpaired, resumable datasets.

    files = list_images("photos/")                 # recursive, sorted
    img = load_image_rgb(files[0])                 # upright 8-bit RGB, or ImageDecodeError
    aug = AugmentConfig(size=256)                  # paper: resize 286, random crop 256, flip
    a = ImageDataset.from_folder("photos/", aug, seed=0, name="A")   # unreadable files skipped
    a[k]                                           # (3, 256, 256) in [-1, 1], pure in (seed, k)
    loader = DataLoader(a, batch_sampler=StepBatchSampler(start_step=0, total_steps=100, batch_size=4))
"""

from mobilegan.data.datasets import ImageDataset, UnpairedDataset, scan_images
from mobilegan.data.decode import IMAGE_EXTENSIONS, ImageDecodeError, is_image_file, list_images, load_image_rgb, to_rgb
from mobilegan.data.sampling import StepBatchSampler, steps_per_epoch
from mobilegan.data.transforms import (
    PREPROCESS_MODES,
    AugmentConfig,
    augment,
    default_load_size,
    eval_view,
    pad_to_multiple,
    to_image,
    to_tensor,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "PREPROCESS_MODES",
    "AugmentConfig",
    "ImageDataset",
    "ImageDecodeError",
    "StepBatchSampler",
    "UnpairedDataset",
    "augment",
    "default_load_size",
    "eval_view",
    "is_image_file",
    "list_images",
    "load_image_rgb",
    "pad_to_multiple",
    "scan_images",
    "steps_per_epoch",
    "to_image",
    "to_rgb",
    "to_tensor",
]
