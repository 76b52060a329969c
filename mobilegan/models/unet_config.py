"""The U-Net generator family's config (pix2pix / CycleGAN ``unet_128``, ``unet_256``, TF tutorial).

Two published layouts differ in where activations sit and in which order skips are joined, so
the same weights give different pictures; ``layout`` names the code base whose maths to follow:

* ``official`` (junyanz/pytorch-CycleGAN-and-pix2pix ``UnetGenerator``): each level is
  ``LeakyReLU(0.2) -> conv k4 s2 p1 -> norm`` down and ``ReLU -> convT k4 s2 p1 -> norm`` up
  (pre-activation); the outermost down has no activation and no norm, the innermost down no norm;
  a level returns ``cat([its input, up(...)])``.
* ``tf`` (``tensorflow_examples.models.pix2pix.unet_generator``): ``conv -> norm -> LeakyReLU``
  down (no norm on the first), ``convT -> norm -> ReLU`` up, ``cat([up, skip])``; TF's ``same``
  padding equals PyTorch's padding 1 for k4 s2 on even sides.

Stage widths are ``ngf * min(2**k, 8)`` for down levels ``k = 0 ..``, as in both code bases.
Importable without torch, like :mod:`mobilegan.models.config`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from mobilegan.errors import ConfigError
from mobilegan.models.config import BATCH_STATS, _check_types, _from_dict, batch_norm_kind

UNET_ARCH = "unet"
UnetLayout = Literal["official", "tf"]
UnetNorm = Literal["instance", "instance_affine", "batch", "batch_image", "none"]
UNET_LAYOUTS: tuple[str, ...] = ("official", "tf")
# "batch_image": BatchNorm with each image's own statistics (an official BatchNorm U-Net as test.py runs
# it without --eval); "batch": the stored running statistics. The same norm kinds as GeneratorConfig's,
# the one representation for both families (see mobilegan.models.config.FOREIGN_NORMS).
UNET_NORMS: tuple[str, ...] = ("instance", "instance_affine", "batch", "batch_image", "none")
PER_IMAGE_UNET_NORMS: tuple[str, ...] = ("instance", "instance_affine", "batch_image")


@dataclass(frozen=True)
class UnetConfig:
    """A U-Net with ``num_downs`` stride-2 levels; input sides must be multiples of ``2 ** num_downs``."""

    num_downs: int = 8
    ngf: int = 64
    norm: UnetNorm = "instance"
    layout: UnetLayout = "official"
    # Official: conv bias only when the norm is InstanceNorm (plus the last transposed conv, always);
    # TF: no bias but the last transposed conv's.
    conv_bias: bool = True
    norm_eps: float = 1e-5
    # Dropout(0.5) in the official middle levels / the first three TF up levels. Recorded for the
    # layout; never applied at inference (mobilegan always runs generators deterministically).
    dropout: float = 0.0
    leaky_slope: float = 0.2
    in_channels: int = 3
    out_channels: int = 3
    arch: str = UNET_ARCH

    def __post_init__(self) -> None:
        _check_types(self, ints=("num_downs", "ngf", "in_channels", "out_channels"),
                     reals=("norm_eps", "dropout", "leaky_slope"), bools=("conv_bias",))
        if self.arch != UNET_ARCH:
            raise ConfigError(f"UnetConfig.arch must be {UNET_ARCH!r} (got {self.arch!r})")
        if not 2 <= self.num_downs <= 10:
            raise ConfigError(f"num_downs must be in [2, 10] (got {self.num_downs})")
        if self.ngf < 1 or self.in_channels < 1 or self.out_channels < 1:
            raise ConfigError("ngf, in_channels and out_channels must be >= 1")
        if self.norm not in UNET_NORMS:
            raise ConfigError(f"unknown U-Net norm {self.norm!r}; choose one of {', '.join(UNET_NORMS)}")
        if self.layout not in UNET_LAYOUTS:
            raise ConfigError(f"unknown U-Net layout {self.layout!r}; choose one of {', '.join(UNET_LAYOUTS)}")
        if not 0.0 <= self.dropout < 1.0 or self.norm_eps <= 0 or self.leaky_slope < 0:
            raise ConfigError("dropout must be in [0, 1), norm_eps > 0 and leaky_slope >= 0")

    # --- the properties distillation, inference and export ask every generator config -----------------
    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (one pixel at the innermost level)."""
        return 2**self.num_downs

    @property
    def normalises_per_image(self) -> bool:
        return self.norm in PER_IMAGE_UNET_NORMS

    @property
    def local(self) -> bool:
        """A U-Net's innermost level sees the whole image: its output on a crop is never a crop of its output."""
        return False

    @property
    def context(self) -> int:  # no context branch (the ResNet students' FiLM encoder)
        return 0

    @property
    def global_skip(self) -> bool:
        return False

    def summary(self) -> str:
        """One line for logs and CLI output."""
        return f"U-Net ({self.layout} layout), {self.num_downs} levels, ngf {self.ngf}, norm {self.norm}"

    def level_channels(self, level: int) -> int:
        """Width of the output of down level ``level`` (1-based)."""
        return self.ngf * min(2 ** (level - 1), 8)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UnetConfig":
        return _from_dict(cls, _without_batch_stats(data))

    def with_overrides(self, **overrides: Any) -> "UnetConfig":
        return replace(self, **overrides)


def _without_batch_stats(data: Any) -> Any:
    """A config dict saved before ``batch_image`` was a U-Net norm, in today's form.

    Those said norm ``"batch"`` plus ``batch_stats`` (``"image"`` or ``"running"``), and every one of
    them carries ``batch_stats`` (``"image"`` by default, whatever the norm): the field is dropped and
    a BatchNorm becomes ``batch_image`` or stays ``batch``.
    """
    if not isinstance(data, dict) or "batch_stats" not in data:
        return data
    out = {k: v for k, v in data.items() if k != "batch_stats"}
    stats = data["batch_stats"]
    if stats not in BATCH_STATS:
        raise ConfigError(f"UnetConfig.batch_stats must be one of {', '.join(BATCH_STATS)} (got {stats!r})")
    if out.get("norm") == "batch":
        out["norm"] = batch_norm_kind(stats)
    return out
