"""The settings of one distillation run, as one frozen dataclass (stored in ``student.pt`` meta)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mobilegan.distill.losses import LossWeights
from mobilegan.errors import ConfigError
from mobilegan.utils.sizes import image_size_problem

TARGET_KINDS: tuple[str, ...] = ("auto", "crop", "whole")  # where the teacher's targets come from (distill.recipe)


@dataclass(frozen=True)
class DistillConfig:
    teacher: Path
    data_a: Path
    out_dir: Path | None = None  # None: a new runs/distill-<time>/ folder
    data_b: Path | None = None
    eval_data: Path | None = None  # held-out images; default: a split of data_a
    student: str | None = None  # registry preset; None: DEFAULT_STUDENT
    student_overrides: dict[str, Any] = field(default_factory=dict)  # width, depthwise, norm, ...
    target_macs: int | None = None  # compat MACs at `size`
    size: int = 256
    load_size: int | None = None  # resize side before cropping (resize_crop); None: size * 286 / 256
    preprocess: str = "resize_crop"  # as in train: resize_crop, or crop at the image's own scale
    targets: str = "auto"  # auto (from the teacher's norm), crop or whole: see mobilegan.distill.recipe
    tone_views: int = 0  # "whole" targets: recoloured copies of each photo the teacher also translates (views.py)
    target_cache: Path | None = None  # "whole" targets: cache folder (None: <out_dir>/target_cache)
    teacher_batch_stats: str = "image"  # official BatchNorm teachers: each image's statistics (official test.py) or running
    eval_size: int | None = None  # held-out images are scored at this side (None: size)
    steps: int = 2000
    batch_size: int = 4
    lr: float = 2e-3
    weights: LossWeights = LossWeights()
    taps: str | None = None  # None: default taps (down2, two blocks, up1)
    warm_start: bool = True  # applied only when the student family allows it
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    resume: bool = False
    workers: int = 0
    holdout: int = 8  # images of data_a kept out of training when eval_data is None
    save_every: int = 500
    sample_every: int = 250
    log_every: int = 10
    inception_weights: Path | None = None
    fid_real: Path | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if problem := image_size_problem(self.size):
            raise ConfigError(f"--size: {problem}")
        if self.eval_size is not None and (problem := image_size_problem(self.eval_size)):
            raise ConfigError(f"--eval-size: {problem}")
        if self.teacher_batch_stats not in ("image", "running"):
            raise ConfigError(f"unknown --teacher-batch-stats {self.teacher_batch_stats!r}; choose image or running")
        if self.preprocess not in ("resize_crop", "crop"):
            raise ConfigError(f"unknown --preprocess {self.preprocess!r}; choose resize_crop or crop")
        if self.load_size is not None and self.load_size < self.size:
            raise ConfigError(f"--load-size ({self.load_size}) must be >= --size ({self.size})")
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError("--steps and --batch-size must be >= 1")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be > 0 (got {self.lr})")
        if self.weights.ssim > 0 and self.size < 11:
            raise ConfigError("--ssim needs --size >= 11")
        if self.targets not in TARGET_KINDS:
            raise ConfigError(f"unknown --targets {self.targets!r}; choose one of {', '.join(TARGET_KINDS)}")
        if self.tone_views < 0:
            raise ConfigError("--tone-views must be >= 0")
        if self.holdout < 0:
            raise ConfigError("--holdout must be >= 0")

    def to_meta(self) -> dict[str, Any]:
        """Plain-data description for checkpoint metadata and JSON (paths as absolute strings)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = str(Path(value).resolve()) if isinstance(value, Path) else value
        return out

    def run_identity(self) -> dict[str, Any]:
        """The settings a ``--resume`` must agree with (steps and logging may change)."""
        meta = self.to_meta()
        keep = ("teacher", "data_a", "data_b", "student", "student_overrides", "target_macs", "size", "load_size",
                "preprocess", "targets", "teacher_batch_stats", "tone_views",
                "batch_size", "lr", "weights", "taps", "seed")
        return {k: meta[k] for k in keep}
