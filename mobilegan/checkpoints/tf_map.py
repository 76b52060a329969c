"""Map TF/Keras generator weights onto mobilegan modules (config + strict state dict).

* The TF CycleGAN tutorial's U-Net (``pix2pix.unet_generator``) -> :class:`UnetGenerator`
  with ``layout="tf"``: down blocks ``conv [+ norm]``, up blocks ``convT + norm``, then the last
  transposed conv with a bias. Any depth; widths inferred from the kernels.
* The keras.io CycleGAN ResNet generator (``get_resnet_generator``) -> :class:`ResnetGenerator`
  with ``same_padding="tf"``: stem 7x7, two stride-2 3x3 downs, residual pairs, two stride-2
  3x3 transposed ups, 7x7 head with a bias; norms are Keras GroupNormalization (``groups=1`` in
  the Keras 3 example, ``groups=-1`` = tfa InstanceNormalization in the 2020 one), eps 1e-3.

Kernels: Conv2D ``(kh, kw, in, out)`` and Conv2DTranspose ``(kh, kw, out, in)`` both become
torch layouts by ``permute(3, 2, 0, 1)`` (no spatial flip).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mobilegan.checkpoints.foreign_tree import ForeignLayer, ForeignModel
from mobilegan.errors import CheckpointError
from mobilegan.models.config import GeneratorConfig
from mobilegan.models.unet_config import UnetConfig

KERAS_NORM_EPS = 1e-3  # Keras BatchNormalization / GroupNormalization and tfa InstanceNormalization
TF_TUTORIAL_IN_EPS = 1e-5  # the tutorial's own InstanceNormalization
TF_LEAKY_SLOPE = 0.3  # keras LeakyReLU() default (alpha / negative_slope), Keras 2 and 3


@dataclass
class Mapped:
    layout: str  # "tf_unet" or "keras_resnet"
    config: UnetConfig | GeneratorConfig
    state_dict: dict[str, torch.Tensor]
    notes: list[str] = field(default_factory=list)


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _kernel(array: np.ndarray) -> torch.Tensor:
    return _t(np.transpose(array, (3, 2, 0, 1)))


def _conv_arrays(layer: ForeignLayer) -> tuple[np.ndarray, np.ndarray | None]:
    arrays = layer.arrays()
    kernel = next(a for a in arrays if a.ndim == 4)
    bias = next((a for a in arrays if a.ndim == 1), None)
    return kernel, bias


def _is_conv(layer: ForeignLayer) -> bool:
    return any(a.ndim == 4 for a in layer.weights.values())


def _norm_arrays(layer: ForeignLayer) -> dict[str, np.ndarray]:
    """``weight``/``bias`` (+ ``running_mean``/``running_var``) from a Keras/TF norm layer."""
    named = layer.weights
    if "scale" in named or "gamma" in named:
        out = {"weight": named.get("scale", named.get("gamma")), "bias": named.get("offset", named.get("beta"))}
        if "moving_mean" in named:
            out.update(running_mean=named["moving_mean"], running_var=named["moving_variance"])
    else:  # Keras 3 .weights.h5: positions only, in creation order
        arrays = layer.arrays()
        out = {"weight": arrays[0], "bias": arrays[1]} if len(arrays) >= 2 else {}
        if len(arrays) == 4:
            out.update(running_mean=arrays[2], running_var=arrays[3])
    if any(v is None for v in out.values()) or len(out) not in (2, 4):
        raise CheckpointError(f"norm layer {layer.name!r}: unexpected variables {list(named)}")
    return out


def _put_norm(state: dict[str, torch.Tensor], prefix: str, layer: ForeignLayer) -> None:
    for key, value in _norm_arrays(layer).items():
        state[f"{prefix}.{key}"] = _t(value)
    if f"{prefix}.running_mean" in state:
        state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)


def looks_like_discriminator(model: ForeignModel) -> bool:
    """A PatchGAN (TF tutorial, keras.io): a 4x4 conv to one channel. Ask only after the generator checks."""
    return any(_conv_arrays(layer)[0].shape[0] == 4 and _conv_arrays(layer)[0].shape[3] == 1
               for layer in model.root.weighted() if _is_conv(layer))


# --- TF tutorial U-Net --------------------------------------------------------------------------------


def _unet_parts(model: ForeignModel) -> tuple[list[ForeignLayer], ForeignLayer]:
    blocks = [child for child in model.root.children if child.children]
    leaves = [child for child in model.root.children if not child.children and child.weights]
    if len(leaves) != 1 or not blocks:
        raise CheckpointError("not a TF-tutorial U-Net: expected blocks of conv+norm and one last transposed conv")
    return blocks, leaves[0]


def is_tf_unet(model: ForeignModel) -> bool:
    try:
        blocks, last = _unet_parts(model)
    except CheckpointError:
        return False
    kernel, bias = _conv_arrays(last) if _is_conv(last) else (None, None)
    return kernel is not None and bias is not None and kernel.shape[:2] == (4, 4) and len(blocks) % 2 == 1


def map_tf_unet(model: ForeignModel) -> Mapped:
    blocks, last = _unet_parts(model)
    n = (len(blocks) + 1) // 2
    if len(blocks) != 2 * n - 1 or n < 2:
        raise CheckpointError(f"not a TF-tutorial U-Net: {len(blocks)} conv blocks (expected 2*levels-1)")
    split = []
    for block in blocks:
        layers = block.weighted()
        convs = [layer for layer in layers if _is_conv(layer)]
        norms = [layer for layer in layers if not _is_conv(layer)]
        if len(convs) != 1 or len(norms) > 1:
            raise CheckpointError(f"not a TF-tutorial U-Net: block {block.name!r} holds {len(convs)} convs, {len(norms)} norms")
        split.append((_conv_arrays(convs[0])[0], norms[0] if norms else None))
    first_kernel, first_norm = split[0]
    if first_kernel.shape[:3] != (4, 4, 3) or first_norm is not None:
        raise CheckpointError("not a TF-tutorial U-Net: the first down conv must be 4x4 from 3 channels, without a norm")
    ngf = int(first_kernel.shape[3])
    norm_layer = split[1][1]
    if norm_layer is None:
        raise CheckpointError("not a TF-tutorial U-Net: the second down block has no norm")
    batch = len(_norm_arrays(norm_layer)) == 4
    eps = float(norm_layer.config.get("epsilon", KERAS_NORM_EPS if batch else TF_TUTORIAL_IN_EPS))
    config = UnetConfig(num_downs=n, ngf=ngf, layout="tf", norm="batch" if batch else "instance_affine",
                        conv_bias=False, norm_eps=eps, leaky_slope=TF_LEAKY_SLOPE)
    state: dict[str, torch.Tensor] = {}
    for i, (kernel, norm) in enumerate(split[:n]):
        want = (4, 4, 3 if i == 0 else config.level_channels(i), config.level_channels(i + 1))
        if kernel.shape != want:
            raise CheckpointError(f"TF U-Net down {i + 1}: kernel {kernel.shape}, expected {want} (widths ngf*min(2**k, 8))")
        state[f"downs.{i}.conv.weight"] = _kernel(kernel)
        if norm is not None:
            _put_norm(state, f"downs.{i}.norm", norm)
    for i, (kernel, norm) in enumerate(split[n:]):
        level = n - 1 - i  # up_stack[0] is the innermost: ups[n-1] (produces level n-1's resolution)
        state[f"ups.{level}.conv.weight"] = _kernel(kernel)
        if norm is None:
            raise CheckpointError(f"TF U-Net up block {i + 1} has no norm")
        _put_norm(state, f"ups.{level}.norm", norm)
    kernel, bias = _conv_arrays(last)
    if kernel.shape[2] != 3 or bias is None:
        raise CheckpointError(f"TF U-Net last layer: kernel {kernel.shape}, expected 3 output channels and a bias")
    state["ups.0.conv.weight"] = _kernel(kernel)
    state["ups.0.conv.bias"] = _t(bias)
    notes = [f"TF tutorial U-Net: {n} levels, ngf {ngf}, {'BatchNorm (moving statistics, as model(x) in TF)' if batch else 'InstanceNormalization'}, LeakyReLU 0.3"]
    return Mapped("tf_unet", config, state, notes)


# --- keras.io ResNet generator ----------------------------------------------------------------------


def _resnet_sequence(model: ForeignModel) -> list[tuple[ForeignLayer, ForeignLayer | None]]:
    """(conv, norm) pairs in model order; the head has no norm."""
    layers = model.root.weighted()
    if model.exact_order:
        pairs: list[tuple[ForeignLayer, ForeignLayer | None]] = []
        for layer in layers:
            if _is_conv(layer):
                pairs.append((layer, None))
            elif pairs and pairs[-1][1] is None:
                pairs[-1] = (pairs[-1][0], layer)
            else:
                raise CheckpointError(f"not a keras.io ResNet generator: norm {layer.name!r} does not follow a conv")
        return pairs
    # .weights.h5: order known per class only. Conv2D in creation order (stem, downs, residual
    # convs, head), Conv2DTranspose (ups) and norms (one after every conv but the head).
    convs = [layer for layer in layers if layer.kind == "conv2d"]
    ups = [layer for layer in layers if layer.kind == "conv2d_transpose"]
    norms = [layer for layer in layers if layer.kind in ("group_normalization", "instance_normalization", "batch_normalization")]
    if len(layers) != len(convs) + len(ups) + len(norms) or not convs:
        kinds = sorted({str(layer.kind) for layer in layers})
        raise CheckpointError(f"not a keras.io ResNet generator (layer classes: {', '.join(kinds)})")
    ordered = convs[:-1] + ups
    if len(norms) != len(ordered):
        raise CheckpointError(f"not a keras.io ResNet generator: {len(norms)} norms for {len(ordered)} convs")
    return [*zip(ordered, norms), (convs[-1], None)]


def is_keras_resnet(model: ForeignModel) -> bool:
    try:
        pairs = _resnet_sequence(model)
    except CheckpointError:
        return False
    if len(pairs) < 6:
        return False
    stem, head = _conv_arrays(pairs[0][0])[0], _conv_arrays(pairs[-1][0])[0]
    return stem.shape[:3] == (7, 7, 3) and head.shape[:2] == (7, 7) and head.shape[3] == 3


def _norm_kind(norm: ForeignLayer, exact: bool, notes: list[str]) -> tuple[str, float]:
    cfg = norm.config
    eps = float(cfg.get("epsilon", KERAS_NORM_EPS))
    if norm.kind == "instance_normalization":
        return "instance_affine", eps
    if norm.kind == "batch_normalization":
        raise CheckpointError("keras ResNet generator with BatchNormalization is not supported (expected Group/InstanceNormalization)")
    groups = cfg.get("groups")
    channels = int(norm.arrays()[0].shape[0])
    if groups is None:
        if norm.kind == "group_normalization":
            notes.append("GroupNormalization groups not stored in the file: assumed groups=1 (the keras.io Keras 3 CycleGAN)")
            return "group1", eps
        notes.append("norm class not stored in the file: assumed tfa InstanceNormalization (eps 1e-3), as the keras.io CycleGAN of 2020")
        return "instance_affine", eps
    if int(groups) == 1:
        return "group1", eps
    if int(groups) in (-1, channels):
        return "instance_affine", eps
    raise CheckpointError(f"GroupNormalization(groups={groups}) is not supported (only groups=1 and groups=-1)")


def map_keras_resnet(model: ForeignModel) -> Mapped:
    pairs = _resnet_sequence(model)
    notes: list[str] = []
    kernels = [_conv_arrays(conv) for conv, _ in pairs]
    stem, _ = kernels[0]
    if stem.shape[:3] != (7, 7, 3):
        raise CheckpointError(f"not a keras.io ResNet generator: first conv {stem.shape}, expected 7x7 from 3 channels")
    ngf = int(stem.shape[3])
    n_blocks2 = len(pairs) - 6  # stem, 2 downs, 2 ups, head
    if n_blocks2 < 0 or n_blocks2 % 2:
        raise CheckpointError(f"not a keras.io ResNet generator: {len(pairs)} convs (expected 6 + 2 per residual block)")
    n_blocks = n_blocks2 // 2
    head, head_bias = kernels[-1]
    if head_bias is None or head.shape[:2] != (7, 7) or head.shape[3] != 3:
        raise CheckpointError(f"not a keras.io ResNet generator: last conv {head.shape}, expected 7x7 to 3 channels with a bias")
    for conv, norm in pairs[:-1]:
        if norm is None or _conv_arrays(conv)[1] is not None:
            raise CheckpointError(f"keras ResNet layer {conv.name!r}: expected a bias-free conv followed by a norm")
    norm, eps = _norm_kind(pairs[0][1], model.exact_order, notes)  # type: ignore[arg-type]
    config = GeneratorConfig(ngf=ngf, n_blocks=n_blocks, norm=norm, norm_eps=eps, padding="reflect",
                             upsample="transpose", conv_bias=False, same_padding="tf")
    names = ["stem", "down1", "down2"]
    names += [f"blocks.{i}.conv{j}" for i in range(n_blocks) for j in (1, 2)]
    names += ["up1", "up2"]
    state: dict[str, torch.Tensor] = {}
    expect = [(7, 7, 3, ngf), (3, 3, ngf, 2 * ngf), (3, 3, 2 * ngf, 4 * ngf)]
    expect += [(3, 3, 4 * ngf, 4 * ngf)] * (2 * n_blocks)
    expect += [(3, 3, 2 * ngf, 4 * ngf), (3, 3, ngf, 2 * ngf)]  # Conv2DTranspose: (kh, kw, out, in)
    for name, (conv, norm_layer), (kernel, _), want in zip(names, pairs[:-1], kernels[:-1], expect):
        if kernel.shape != want:
            raise CheckpointError(f"keras ResNet {name}: kernel {kernel.shape}, expected {want}")
        state[f"{name}.conv.weight"] = _kernel(kernel)
        _put_norm(state, f"{name}.norm", norm_layer)  # type: ignore[arg-type]
    state["head.conv.weight"] = _kernel(head)
    state["head.conv.bias"] = _t(head_bias)
    notes.insert(0, f"keras.io ResNet generator: ngf {ngf}, {n_blocks} residual blocks, norm {norm} (eps {eps:g}), TF 'same' padding")
    return Mapped("keras_resnet", config, state, notes)
