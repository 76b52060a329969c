"""Typed, frozen configs. Every checkpoint stores one, and the model is rebuilt from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from mobilegan.errors import ConfigError

NormKind = Literal["instance", "instance_decomposed", "batch", "none", "instance_affine", "group1", "batch_image"]
PadKind = Literal["reflect", "zero"]
UpsampleKind = Literal["transpose", "nearest_conv", "bilinear_conv"]

NORMS: tuple[str, ...] = ("instance", "instance_decomposed", "batch", "none")  # students and trained teachers
# Norms of foreign teachers: InstanceNorm with scale and offset (tfa InstanceNormalization) and
# GroupNormalization(groups=1) (keras.io's Keras 3 CycleGAN), both written by Keras
# (mobilegan.checkpoints.keras_map); and an official ``--norm batch`` generator's BatchNorm as the
# official test.py runs it without --eval: each image normalised with its own statistics.
#
# "batch_image" is the one way to say "BatchNorm with each image's own statistics", in both generator
# families (GeneratorConfig and UnetConfig): a norm kind, not a "batch" norm plus a separate flag, so
# the norm name alone says which layer is built (norm_factory), whether the model normalises per
# image (PER_IMAGE_NORMS) and whether tiles are exact, with no field that only means something for
# one norm. "batch" always means the stored running statistics. (U-Net configs saved before this
# said norm "batch" plus batch_stats "image" / "running": UnetConfig.from_dict reads them.)
FOREIGN_NORMS: tuple[str, ...] = ("instance_affine", "group1", "batch_image")
ALL_GENERATOR_NORMS: tuple[str, ...] = NORMS + FOREIGN_NORMS
PER_IMAGE_NORMS: tuple[str, ...] = ("instance", "instance_decomposed", "instance_affine", "group1", "batch_image")  # statistics of whatever the model sees
# How an official BatchNorm generator (ResNet or U-Net) normalises at test time, chosen when its file is
# loaded. "image": each image's own statistics, which is what the official test.py computes unless run
# with --eval (it never calls model.eval() otherwise), so what its users saw; "running": the stored
# running statistics (eval mode). batch_norm_kind turns the choice into the config's norm kind.
BATCH_STATS: tuple[str, ...] = ("image", "running")
# How stride-2 convs pad: PyTorch's symmetric padding, or TensorFlow's padding="same", which puts the
# odd extra row/column at the bottom/right (k3 s2 convs) and makes k3 s2 transposed convs drop their
# last row/column (PyTorch's padding=1, output_padding=1 drops the first).
SAME_PADDINGS: tuple[str, ...] = ("torch", "tf")
PADDINGS: tuple[str, ...] = ("reflect", "zero")
UPSAMPLES: tuple[str, ...] = ("transpose", "nearest_conv", "bilinear_conv")
SPACE_TO_DEPTH: tuple[int, ...] = (1, 2, 4)
DEFAULT_STUDENT = "mobile_s2d4_w025"  # the preset distill uses by default (chosen on the front: BENCHMARKS.md, issue 16)
# The student distill picks for a teacher that normalises per image (InstanceNorm): BENCHMARKS.md,
# "Distilling InstanceNorm teachers" (issue 22); see mobilegan.distill.recipe.
INSTANCE_STUDENT = "mobile_s2d4_w025_ctx"


def batch_norm_kind(batch_stats: str) -> str:
    """The norm kind of a BatchNorm that uses ``batch_stats`` statistics (one of :data:`BATCH_STATS`)."""
    if batch_stats not in BATCH_STATS:
        raise ConfigError(f"batch_stats must be one of {', '.join(BATCH_STATS)} (got {batch_stats!r})")
    return "batch_image" if batch_stats == "image" else "batch"


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (never below ``min_value``).

    As in MobileNet: never round down by more than 10%, so a width multiplier does not
    silently remove more capacity than asked for.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class GeneratorConfig:
    """The CycleGAN ResNet generator family: paper teachers and mobile students.

    Stage widths are ``ngf * (1, 2, 4, 2, 1)``. ``width`` scales all of them in one place,
    :meth:`channels`; at ``width == 1`` widths are taken as given (foreign checkpoints may
    use any ``ngf``), otherwise they are rounded to a multiple of 8, never below 8.
    """

    ngf: int = 64
    n_blocks: int = 9
    width: float = 1.0
    depthwise: bool = False
    norm: NormKind = "instance"
    padding: PadKind = "reflect"
    upsample: UpsampleKind = "transpose"
    # Convs followed by a norm keep their bias when True: mathematically redundant before a
    # non-affine InstanceNorm, but the official and PyTorch-GAN generators have it, so
    # loading their weights and counting their parameters (11,378,179) needs it.
    conv_bias: bool = True
    dropout: float = 0.0
    in_channels: int = 3
    out_channels: int = 3
    # Global skip: output = clamp(input + tanh(head), -1, 1); the network starts near the identity
    # and learns only the change. Off in the paper's generator, every preset and every foreign
    # checkpoint. (Tried for the demo teacher: the cycle loss then holds both generators at the
    # identity; BENCHMARKS.md has the runs.)
    global_skip: bool = False
    # Space-to-depth entry: 2 or 4 folds each 2x2 / 4x4 pixel patch into channels
    # (PixelUnshuffle) before the first conv and unfolds the head's output (PixelShuffle), so no
    # convolution runs at full resolution; the stages the fold skips (stem; down1 too at 4) are
    # left out. 1 is the paper's layout. See ResnetGenerator for the stage names.
    space_to_depth: int = 1
    # Norm after the depthwise convs of depthwise blocks; None: ``norm``. A per-image norm after a
    # depthwise conv adds little (its channel statistics follow from those its input was normalised
    # with), so students for InstanceNorm teachers keep BatchNorm there, where it folds into the conv.
    dw_norm: NormKind | None = None
    # Image-wide context (issue 22): width of a small encoder that reads the whole image and scales
    # and shifts every residual block's input (FiLM); 0 = none. See mobilegan.models.context.
    context: int = 0
    # Width of a ReLU layer between the context descriptor and the FiLM convs (issue 31); 0 = linear.
    # An InstanceNorm teacher divides by each image's contrast: a gain like 1/std, which no linear map
    # of the descriptor's means and mean squares draws for a low-contrast photo.
    context_hidden: int = 0
    # Hold the context descriptor inside the range it took on the training photos (issue 31; measured by
    # distill after training): a photo unlike the training set cannot drive the FiLM anywhere it never went.
    context_clamp: bool = False
    # Teachers written by TensorFlow/Keras (issue 23): the norms' epsilon and TF's "same" padding.
    norm_eps: float = 1e-5
    same_padding: str = "torch"

    def __post_init__(self) -> None:
        _check_types(self, ints=("ngf", "n_blocks", "in_channels", "out_channels", "space_to_depth", "context",
                           "context_hidden"),
                     reals=("width", "dropout", "norm_eps"),
                     bools=("depthwise", "conv_bias", "global_skip", "context_clamp"))
        if self.ngf < 1 or self.n_blocks < 0:
            raise ConfigError(f"ngf must be >= 1 and n_blocks >= 0 (got ngf={self.ngf}, n_blocks={self.n_blocks})")
        if self.in_channels < 1 or self.out_channels < 1:
            raise ConfigError(f"in_channels and out_channels must be >= 1 "
                              f"(got in_channels={self.in_channels}, out_channels={self.out_channels})")
        if not 0.0 < self.width <= 8.0:
            raise ConfigError(f"width multiplier must be in (0, 8] (got {self.width})")
        if self.norm not in ALL_GENERATOR_NORMS:
            raise ConfigError(f"unknown norm {self.norm!r}; choose one of {', '.join(ALL_GENERATOR_NORMS)}")
        if self.norm_eps <= 0:
            raise ConfigError(f"norm_eps must be > 0 (got {self.norm_eps})")
        if self.same_padding not in SAME_PADDINGS:
            raise ConfigError(f"unknown same_padding {self.same_padding!r}; choose one of {', '.join(SAME_PADDINGS)}")
        if self.same_padding == "tf" and (self.space_to_depth != 1 or self.upsample != "transpose"):
            raise ConfigError("same_padding 'tf' is for TensorFlow teachers: space_to_depth 1 and transposed convs only")
        if self.context < 0 or (self.context and self.n_blocks == 0):
            raise ConfigError(f"context must be >= 0 and needs residual blocks (got context={self.context}, "
                              f"n_blocks={self.n_blocks})")
        if self.context_hidden < 0 or (self.context_hidden and not self.context):
            raise ConfigError(f"context_hidden must be >= 0 and needs a context branch (got "
                              f"context_hidden={self.context_hidden}, context={self.context})")
        if self.context_clamp and not self.context:
            raise ConfigError("context_clamp needs a context branch (context > 0)")
        if self.dw_norm is not None and self.dw_norm not in NORMS:
            raise ConfigError(f"unknown dw_norm {self.dw_norm!r}; choose one of {', '.join(NORMS)}")
        if self.padding not in PADDINGS:
            raise ConfigError(f"unknown padding {self.padding!r}; choose one of {', '.join(PADDINGS)}")
        if self.upsample not in UPSAMPLES:
            raise ConfigError(f"unknown upsample {self.upsample!r}; choose one of {', '.join(UPSAMPLES)}")
        if self.space_to_depth not in SPACE_TO_DEPTH:
            raise ConfigError(f"space_to_depth must be one of {', '.join(map(str, SPACE_TO_DEPTH))} "
                              f"(got {self.space_to_depth})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.global_skip and self.in_channels != self.out_channels:
            raise ConfigError(f"global_skip needs in_channels == out_channels "
                              f"(got {self.in_channels} and {self.out_channels})")

    @property
    def normalises_per_image(self) -> bool:
        """Some norm uses the statistics of the image it is given (InstanceNorm), not fixed ones."""
        return self.norm in PER_IMAGE_NORMS or self.dw_norm in PER_IMAGE_NORMS

    def summary(self) -> str:
        """One line for logs and CLI output."""
        return (f"ngf {self.ngf}, {self.n_blocks} blocks, norm {self.norm}, padding {self.padding}, "
                f"upsample {self.upsample}")

    @property
    def local(self) -> bool:
        """Each output pixel depends only on a window of the input (tiles and crops are exact)."""
        return not self.normalises_per_image and not self.context

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this."""
        return 4

    def channels(self, mult: int) -> int:
        """Width of a stage whose paper width is ``ngf * mult``: the one place width applies."""
        raw = self.ngf * mult
        if self.width == 1.0:
            return raw
        return make_divisible(raw * self.width, 8)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        return _from_dict(cls, data)

    def with_overrides(self, **overrides: Any) -> "GeneratorConfig":
        return replace(self, **overrides)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """PatchGAN discriminator (70x70 receptive field with ``n_layers=3``)."""

    ndf: int = 64
    n_layers: int = 3
    norm: NormKind = "instance"
    in_channels: int = 3

    def __post_init__(self) -> None:
        _check_types(self, ints=("ndf", "n_layers", "in_channels"), reals=(), bools=())
        if self.ndf < 1 or self.n_layers < 1:
            raise ConfigError(f"ndf and n_layers must be >= 1 (got ndf={self.ndf}, n_layers={self.n_layers})")
        if self.norm not in NORMS:
            raise ConfigError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiscriminatorConfig":
        return _from_dict(cls, data)


def generator_config_from_dict(data: dict[str, Any]) -> Any:
    """A generator config of any family from its dict: ``arch: "unet"`` -> ``UnetConfig``, else
    ``GeneratorConfig`` (the ResNet family; its dicts carry no ``arch``)."""
    if isinstance(data, dict) and data.get("arch") == "unet":
        from mobilegan.models.unet_config import UnetConfig

        return UnetConfig.from_dict(data)
    return GeneratorConfig.from_dict(data)


def _check_types(config: Any, *, ints: tuple[str, ...], reals: tuple[str, ...], bools: tuple[str, ...]) -> None:
    """Reject wrongly typed fields (e.g. ``ngf=16.5`` or ``"64"`` from a hand-edited file) up front."""
    name = type(config).__name__
    for field in ints:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}.{field} must be an integer, got {value!r}")
    for field in reals:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}.{field} must be a number, got {value!r}")
    for field in bools:
        value = getattr(config, field)
        if not isinstance(value, bool):
            raise ConfigError(f"{name}.{field} must be true or false, got {value!r}")


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"a {cls.__name__} must be a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as exc:  # wrong value types from a hand-edited or foreign file
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from None
