"""The registered presets. Import side effect: fills the registry."""

from __future__ import annotations

from mobilegan.models.config import DEFAULT_STUDENT, DiscriminatorConfig, GeneratorConfig
from mobilegan.models.registry import register_model
from mobilegan.models.unet_config import UnetConfig

# The mobile family: OMGD-class depthwise ResNets, 8 blocks, using only ops XNNPACK fully
# delegates and Core ML converts (BatchNorm folds into convs; zero padding; transposed-conv
# upsampling). DEFAULT_STUDENT (named with the configs, so the CLI can show it without importing
# torch) is mobile_s2d4_w025: the fastest student on the measured latency-fidelity front and the
# closest to its teacher (BENCHMARKS.md, issue 16). mobile_w025 was the default before it.
MOBILE_BLOCKS = 8


@register_model("resnet_9blocks", kind="generator", description="CycleGAN paper generator, 9 residual blocks (256 px)")
def resnet_9blocks() -> GeneratorConfig:
    return GeneratorConfig(ngf=64, n_blocks=9)


@register_model("resnet_6blocks", kind="generator", description="CycleGAN paper generator, 6 residual blocks (128 px)")
def resnet_6blocks() -> GeneratorConfig:
    return GeneratorConfig(ngf=64, n_blocks=6)


def _mobile(width: float, *, space_to_depth: int = 1, norm: str = "batch", dw_norm: str | None = None) -> GeneratorConfig:
    return GeneratorConfig(
        ngf=64,
        n_blocks=MOBILE_BLOCKS,
        width=width,
        depthwise=True,
        norm=norm,  # type: ignore[arg-type]
        padding="zero",
        upsample="transpose",
        conv_bias=False,
        space_to_depth=space_to_depth,
        dw_norm=dw_norm,  # type: ignore[arg-type]
    )


@register_model("mobile_w100", kind="generator", description="mobile student, width 1.0 (ngf 64), depthwise blocks")
def mobile_w100() -> GeneratorConfig:
    return _mobile(1.0)


@register_model("mobile_w050", kind="generator", description="mobile student, width 0.5 (ngf 32), depthwise blocks")
def mobile_w050() -> GeneratorConfig:
    return _mobile(0.5)


@register_model("mobile_w025", kind="generator", description="mobile student, width 0.25 (ngf 16), depthwise (the default until issue 16)")
def mobile_w025() -> GeneratorConfig:
    return _mobile(0.25)


@register_model("mobile_w0125", kind="generator", description="smallest mobile student, width 0.125 (ngf 8), depthwise")
def mobile_w0125() -> GeneratorConfig:
    return _mobile(0.125)


# Space-to-depth students (issue 16): PixelUnshuffle in, PixelShuffle out, no convolution at full
# resolution. Same blocks as mobile_w025; s2d2 keeps the H/2 stages (entry conv and one transposed
# conv), s2d4 runs everything at H/4. Both lower to one XNNPACK segment (pixel (un)shuffle is a
# reshape + transpose there).
@register_model("mobile_s2d2_w025", kind="generator",
                description="space-to-depth 2 student, width 0.25: PixelUnshuffle(2) in, depthwise blocks at H/4")
def mobile_s2d2_w025() -> GeneratorConfig:
    return _mobile(0.25, space_to_depth=2)


@register_model("mobile_s2d2_w050", kind="generator",
                description="space-to-depth 2 student, width 0.5 (ngf 32): PixelUnshuffle(2) in")
def mobile_s2d2_w050() -> GeneratorConfig:
    return _mobile(0.5, space_to_depth=2)


@register_model("mobile_s2d4_w025", kind="generator",
                description="default student: space-to-depth 4, width 0.25, PixelUnshuffle(4) straight to H/4")
def mobile_s2d4_w025() -> GeneratorConfig:
    return _mobile(0.25, space_to_depth=4)


@register_model("mobile_s2d4_w050", kind="generator",
                description="space-to-depth 4 student, width 0.5 (ngf 32): PixelUnshuffle(4) straight to H/4")
def mobile_s2d4_w050() -> GeneratorConfig:
    return _mobile(0.5, space_to_depth=4)


# Measured alternative for InstanceNorm teachers (issue 22, BENCHMARKS.md): the default's layout with
# the norms after the entry conv and every pointwise conv an InstanceNorm written as mean / sub / mul /
# rsqrt (one XNNPACK segment); the norms after depthwise convs stay BatchNorm (folded into the conv).
# It must train on whole images, and it learns to move its own statistics with bright or dark blobs.
@register_model("mobile_s2d4_w025_in", kind="generator",
                description="mobile_s2d4_w025 with per-image InstanceNorm after its pointwise convs (trains on whole images)")
def mobile_s2d4_w025_in() -> GeneratorConfig:
    return _mobile(0.25, space_to_depth=4, norm="instance_decomposed", dw_norm="batch")


# The student for InstanceNorm teachers (issue 22): the default with a context branch
# (mobilegan.models.context) that reads the whole image at 1/4 resolution and scales and shifts
# every block's input, so a local BatchNorm student gets the image-wide information an InstanceNorm
# teacher uses. It trains on crops with the context of their whole image (mobilegan.distill.recipe).
CONTEXT_WIDTH = 16


@register_model("mobile_s2d4_w025_ctx", kind="generator",
                description="student for InstanceNorm teachers: mobile_s2d4_w025 with an image-wide context branch")
def mobile_s2d4_w025_ctx() -> GeneratorConfig:
    return _mobile(0.25, space_to_depth=4).with_overrides(context=CONTEXT_WIDTH, context_clamp=True)


CONTEXT_HIDDEN = 32  # issue 31: a ReLU layer between the context descriptor and the FiLM convs


@register_model("mobile_s2d4_w025_ctxh", kind="generator",
                description="mobile_s2d4_w025_ctx whose context drives the blocks through a ReLU layer (contrast-"
                            "dependent gains, as an InstanceNorm teacher's)")
def mobile_s2d4_w025_ctxh() -> GeneratorConfig:
    return mobile_s2d4_w025_ctx().with_overrides(context_hidden=CONTEXT_HIDDEN)


# issue 31: a wider context encoder (64 channels) with a 64-wide ReLU layer; the blocks are the same.
# On real photos it fits the colour-shifting teachers better than the 16-wide context (BENCHMARKS.md,
# "Real photos") for about 10 % more MACs at 256 px; all of it runs at 1/4 resolution and below.
# Opt-in: before the context clamp one such student drew a flat cyan image for a photo far from its
# training set (the clamp fixed it), and it is 0.2 dB worse on texture teachers, so the auto recipe
# keeps mobile_s2d4_w025_ctx.
WIDE_CONTEXT = 64


@register_model("mobile_s2d4_w025_ctx64", kind="generator",
                description="mobile_s2d4_w025_ctx with a 64-wide context encoder and ReLU layer (for teachers "
                            "that recolour each photo: 0.3-1.0 dB closer on held-out photos, 1.15x the latency)")
def mobile_s2d4_w025_ctx64() -> GeneratorConfig:
    return mobile_s2d4_w025_ctx().with_overrides(context=WIDE_CONTEXT, context_hidden=WIDE_CONTEXT)


@register_model(
    "mobile_w025_in",
    kind="generator",
    description="width 0.25 student with InstanceNorm as mean/sub/mul/rsqrt (size-independent statistics)",
)
def mobile_w025_in() -> GeneratorConfig:
    return GeneratorConfig(
        ngf=64, n_blocks=MOBILE_BLOCKS, width=0.25, depthwise=True, norm="instance_decomposed",
        padding="zero", upsample="bilinear_conv", conv_bias=False,
    )


# U-Net teachers (issue 23): the official --netG unet_128 / unet_256 (InstanceNorm, as CycleGAN trains
# them; pix2pix uses --norm batch) and the TensorFlow CycleGAN tutorial's generator
# (tensorflow_examples pix2pix.unet_generator(3, norm_type="instancenorm"): conv -> norm -> LeakyReLU,
# no biases but the last, InstanceNorm with scale and offset).
@register_model("unet_128", kind="generator", description="pix2pix/CycleGAN U-Net, 7 levels (128 px inputs)")
def unet_128() -> UnetConfig:
    return UnetConfig(num_downs=7)


@register_model("unet_256", kind="generator", description="pix2pix/CycleGAN U-Net, 8 levels (256 px inputs)")
def unet_256() -> UnetConfig:
    return UnetConfig(num_downs=8)


@register_model("unet_256_tf", kind="generator",
                description="TensorFlow CycleGAN tutorial U-Net (pix2pix.unet_generator, instancenorm), 8 levels")
def unet_256_tf() -> UnetConfig:
    return UnetConfig(num_downs=8, layout="tf", norm="instance_affine", conv_bias=False, leaky_slope=0.3)


@register_model("patchgan_70", kind="discriminator", description="70x70 PatchGAN discriminator (C64-C128-C256-C512)")
def patchgan_70() -> DiscriminatorConfig:
    return DiscriminatorConfig(ndf=64, n_layers=3)


@register_model("patchgan_34", kind="discriminator",
                description="34x34 PatchGAN (C64-C128-C256): judges smaller patches, for small images or datasets")
def patchgan_34() -> DiscriminatorConfig:
    return DiscriminatorConfig(ndf=64, n_layers=2)


@register_model("patchgan_16", kind="discriminator",
                description="16x16 PatchGAN (C64-C128): local colour and texture only; suits global looks on few images")
def patchgan_16() -> DiscriminatorConfig:
    return DiscriminatorConfig(ndf=64, n_layers=1)
