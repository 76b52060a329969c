"""NumPy kernels for the iOS 16+ ``constexpr_*`` ops: weights stored palettized or int8-quantized.

Registered into :data:`mobilegan.export.mil_ops.KERNELS` when that module is imported; tested
with the other kernels in ``tests/test_mil_ops.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mobilegan.export.mil_ops import F32, OpArgs, kernel


def unpack_bits(packed: np.ndarray, nbits: int, count: int) -> np.ndarray:
    """Indices packed LSB-first, byte by byte (the layout ``constexpr_lut_to_dense`` documents)."""
    bits = np.unpackbits(np.asarray(packed, dtype=np.uint8), bitorder="little")[: nbits * count]
    weights = (1 << np.arange(nbits)).astype(np.int64)
    return (bits.reshape(count, nbits).astype(np.int64) * weights).sum(axis=1)


@kernel("constexpr_lut_to_dense")
def _lut_to_dense(a: OpArgs) -> np.ndarray:
    lut = np.asarray(a.get("lut"))
    shape = a.ints("shape")
    nbits = int(round(np.log2(lut.size)))
    idx = unpack_bits(a.get("indices"), nbits, int(np.prod(shape)))
    return lut[idx].reshape(shape).astype(F32)


@kernel("constexpr_affine_dequantize")
def _affine_dequantize(a: OpArgs) -> np.ndarray:
    q = np.asarray(a.get("quantized_data")).astype(F32)
    axis = int(a.scalar("axis", 0)) % q.ndim
    shape = [1] * q.ndim
    shape[axis] = -1

    def bcast(v: Any) -> np.ndarray:
        arr = np.asarray(v).astype(F32)
        return arr if arr.ndim == 0 else arr.reshape(shape)

    return (q - bcast(a.get("zero_point"))) * bcast(a.get("scale"))


@kernel("constexpr_cast")
def _constexpr_cast(a: OpArgs) -> np.ndarray:
    return np.asarray(a.get("source_val")).astype(F32)
