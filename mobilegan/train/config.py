"""``TrainConfig``: every setting of a CycleGAN training run, validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from mobilegan.data.transforms import PREPROCESS_MODES, AugmentConfig, Preprocess
from mobilegan.errors import ConfigError
from mobilegan.models.config import NORMS, UPSAMPLES
from mobilegan.train.distributed import DEVICES
from mobilegan.utils.sizes import image_size_problem

GENERATOR_NORMS: tuple[str, ...] = tuple(n for n in NORMS if n != "instance_decomposed")  # the official choices

# Settings that may change between a run and its --resume (they do not change the maths).
RESUMABLE_CHANGES: frozenset[str] = frozenset(
    {"out", "resume", "device", "workers", "sample_every", "save_every", "log_every", "num_samples", "progress",
     "command"}
)


@dataclass(frozen=True)
class TrainConfig:
    data_a: str
    data_b: str
    out: str
    test_a: str | None = None  # sample grids use these images when given (e.g. ROOT/testA)
    test_b: str | None = None
    generator: str = "resnet_9blocks"
    ngf: int | None = None  # overrides of the generator preset
    n_blocks: int | None = None
    norm: str | None = None  # norm override of generators and discriminators (the official --norm)
    upsample: str | None = None  # generator upsampling override: transpose (the paper), nearest_conv (PyTorch-GAN)
    global_skip: bool = False  # generator predicts a change added to its input (GeneratorConfig.global_skip)
    discriminator: str = "patchgan_70"
    ndf: int | None = None  # override of the discriminator preset
    size: int = 256
    load_size: int | None = None  # None: size * 286 / 256
    flip: bool = True
    preprocess: Preprocess = "resize_crop"
    batch_size: int = 1
    epochs: int = 100
    epochs_decay: int = 100
    steps: int | None = None  # fixed number of iterations instead of epochs
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle; 0 disables the identity loss
    pool_size: int = 50
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    workers: int = 0
    sample_every: int = 500
    save_every: int = 1000
    log_every: int = 10
    num_samples: int = 3
    resume: bool = False
    progress: bool = True
    command: str = ""

    def __post_init__(self) -> None:
        if problem := image_size_problem(self.size):
            raise ConfigError(f"--size: {problem}")
        if self.load_size is not None and self.load_size < self.size:
            raise ConfigError(f"--load-size ({self.load_size}) must be >= --size ({self.size})")
        if self.preprocess not in PREPROCESS_MODES:
            raise ConfigError(f"unknown --preprocess {self.preprocess!r}; choose one of {', '.join(PREPROCESS_MODES)}")
        if self.preprocess == "none" and self.batch_size != 1:
            raise ConfigError("--preprocess none keeps whole images of different sizes: use --batch-size 1")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"--steps must be > 0 (got {self.steps})")
        if self.epochs < 0 or self.epochs_decay < 0 or (self.steps is None and self.epochs + self.epochs_decay < 1):
            raise ConfigError("--epochs and --epochs-decay must be >= 0 and not both 0")
        if not self.lr > 0 or not 0 <= self.beta1 < 1 or not 0 <= self.beta2 < 1:
            raise ConfigError(f"need lr > 0 and betas in [0, 1) (got lr={self.lr}, betas=({self.beta1}, {self.beta2}))")
        if self.lambda_cycle < 0 or self.lambda_identity < 0:
            raise ConfigError("loss weights must be >= 0")
        if self.pool_size < 0 or self.workers < 0 or self.num_samples < 0:
            raise ConfigError("--pool-size, --workers and the number of samples must be >= 0")
        if min(self.sample_every, self.save_every) < 0 or self.log_every < 1:
            raise ConfigError("--sample-every/--save-every must be >= 0 and --log-every >= 1")
        if self.ndf is not None and self.ndf < 1:
            raise ConfigError("--ndf must be >= 1")
        if self.ngf is not None and self.ngf < 1 or self.n_blocks is not None and self.n_blocks < 0:
            raise ConfigError("--ngf must be >= 1 and --n-blocks >= 0")
        if self.norm is not None and self.norm not in GENERATOR_NORMS:
            raise ConfigError(f"unknown --norm {self.norm!r}; choose one of {', '.join(GENERATOR_NORMS)}")
        if self.upsample is not None and self.upsample not in UPSAMPLES:
            raise ConfigError(f"unknown --upsample {self.upsample!r}; choose one of {', '.join(UPSAMPLES)}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"unknown --device {self.device!r}; choose one of {', '.join(DEVICES)}")

    @property
    def augment(self) -> AugmentConfig:
        return AugmentConfig(size=self.size, load_size=self.load_size, flip=self.flip, preprocess=self.preprocess)

    def generator_overrides(self) -> dict[str, int | str | bool]:
        out: dict[str, int | str | bool] = {}
        if self.norm is not None:
            out["norm"] = self.norm
        if self.upsample is not None:
            out["upsample"] = self.upsample
        if self.global_skip:
            out["global_skip"] = True
        if self.ngf is not None:
            out["ngf"] = self.ngf
        if self.n_blocks is not None:
            out["n_blocks"] = self.n_blocks
        return out

    def discriminator_overrides(self) -> dict[str, int | str]:
        """As the official ``--norm``, the norm applies to the discriminators too: an InstanceNorm
        discriminator cannot tell two domains apart by their mean colour either."""
        out: dict[str, int | str] = {} if self.ndf is None else {"ndf": self.ndf}
        if self.norm is not None:
            out["norm"] = self.norm
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def extends(self, stored: dict[str, Any]) -> bool:
        """Whether this config continues the stored run to a larger ``--steps`` (allowed on resume:
        the learning-rate schedule is recomputed for the new total, like the official --continue_train)."""
        old = stored.get("steps")
        return isinstance(old, int) and self.steps is not None and self.steps > old

    def resume_mismatches(self, stored: dict[str, Any]) -> list[str]:
        """Settings that differ from the stored run's (excluding :data:`RESUMABLE_CHANGES`, and a
        larger ``--steps``: :meth:`extends`)."""
        now = self.to_dict()
        # A setting missing from the stored run was added later: the run used its default.
        stored = {**{f.name: f.default for f in fields(self)}, **stored}
        return [f"{k}: {stored.get(k)!r} -> {now[k]!r}" + (" (--steps may only grow)" if k == "steps" else "")
                for k in sorted(now)
                if k not in RESUMABLE_CHANGES and stored.get(k) != now[k] and not (k == "steps" and self.extends(stored))]
