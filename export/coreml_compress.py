"""Weight compression of a converted ML Program with ``coremltools.optimize.coreml``.

* ``palettize=6|8``: k-means lookup table per weight tensor (``constexpr_lut_to_dense``);
  6 bits is about 2.7x smaller than fp16 weights, 8 bits 2x.
* ``quantize_weights="int8"``: linear symmetric int8 per output channel
  (``constexpr_affine_dequantize``), 2x smaller than fp16.

Only weights are compressed; activations keep the model's precision. Small tensors
(below ``weight_threshold`` elements, e.g. biases and depthwise kernels) stay dense:
they cost almost nothing and are the most sensitive to rounding.
"""

from __future__ import annotations

import logging
from typing import Any

from mobilegan.errors import MobileganError

log = logging.getLogger(__name__)

WEIGHT_THRESHOLD = 2048


class CoreMLCompressionError(MobileganError):
    """Weight compression failed or was asked for with unusable settings."""


def palettize(mlmodel: Any, nbits: int, *, weight_threshold: int = WEIGHT_THRESHOLD) -> Any:
    from coremltools.optimize.coreml import OpPalettizerConfig, OptimizationConfig, palettize_weights

    if nbits not in (1, 2, 3, 4, 6, 8):
        raise CoreMLCompressionError(f"palettization supports 1, 2, 3, 4, 6 or 8 bits (got {nbits})")
    config = OptimizationConfig(
        global_config=OpPalettizerConfig(mode="kmeans", nbits=nbits, weight_threshold=weight_threshold)
    )
    try:
        return palettize_weights(mlmodel, config)
    except Exception as exc:  # noqa: BLE001
        raise CoreMLCompressionError(f"palettization ({nbits} bits) failed: {exc}") from None


def quantize_int8(mlmodel: Any, *, weight_threshold: int = WEIGHT_THRESHOLD) -> Any:
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

    config = OptimizationConfig(
        global_config=OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=weight_threshold
        )
    )
    try:
        return linear_quantize_weights(mlmodel, config)
    except Exception as exc:  # noqa: BLE001
        raise CoreMLCompressionError(f"int8 weight quantization failed: {exc}") from None


def compress(mlmodel: Any, *, palettize_bits: int | None = None, quantize_weights: str | None = None) -> Any:
    """Apply the requested compression (at most one); returns a new MLModel."""
    if palettize_bits is not None and quantize_weights is not None:
        raise CoreMLCompressionError("choose either palettization or int8 weights, not both")
    if palettize_bits is not None:
        log.info("palettizing weights to %d bits", palettize_bits)
        return palettize(mlmodel, palettize_bits)
    if quantize_weights == "int8":
        log.info("quantizing weights to int8 (per channel)")
        return quantize_int8(mlmodel)
    if quantize_weights is not None:
        raise CoreMLCompressionError(f"unknown weight quantization {quantize_weights!r} (supported: int8)")
    return mlmodel
