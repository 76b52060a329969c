"""Self-test vectors (docs/model-json.md ``selftest``): raw little-endian float32, no header,
and the PSNR each artifact's on-device self-test must reach (``selftest_min_psnr_db``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilegan.errors import MobileganError
from mobilegan.export.coreml_parity import THRESHOLDS_DB as COREML_THRESHOLDS_DB
from mobilegan.export.parity import THRESHOLDS_DB
from mobilegan.utils.atomic import atomic_write_bytes

SELFTEST_DIR = "selftest"
# Rounding exact values to 8 bits leaves a uniform error of +-0.5/255: MSE (1/255)^2 / 12, i.e.
# 58.9 dB. An app that reads 8-bit image output can never reach the fp32 threshold (60 dB).
EIGHT_BIT_CAP_DB = 20 * math.log10(255) + 10 * math.log10(12)
# What an 8-bit image input/output self-test must reach: the cap, less room for the 8-bit input
# rounding (self-test inputs are float) that the generator passes on, and GPU / Neural Engine math.
# Measured with exact fp32 math at 64 px: 58.6 dB (demo teacher), 51 dB (random-init student).
EIGHT_BIT_IO_DB = 45.0


def write_selftest(folder: Path, inputs: torch.Tensor, expected: torch.Tensor) -> dict[str, Any]:
    """Write one input/expected pair per image under ``folder/selftest``; returns the card section."""
    names_in, names_out = [], []
    for i in range(inputs.shape[0]):
        for tensor, names, stem in ((inputs, names_in, "input"), (expected, names_out, "expected")):
            rel = f"{SELFTEST_DIR}/{stem}_{i}.f32"
            atomic_write_bytes(folder / rel, tensor[i : i + 1].detach().contiguous().numpy().astype("<f4").tobytes())
            names.append(rel)
    return {"shape": [1, *inputs.shape[1:]], "layout": "NCHW", "dtype": "float32", "range": [0, 1],
            "inputs": names_in, "expected": names_out}


def selftest_threshold_db(artifact: Mapping[str, Any]) -> float:
    """The PSNR (dB) an app's self-test of ``artifact`` must reach, from its precision and I/O:
    the export parity threshold of its precision (compressed Core ML weights: theirs), capped
    for 8-bit image input or output (:data:`EIGHT_BIT_IO_DB`)."""
    coreml = artifact.get("coreml")
    if isinstance(coreml, Mapping) and coreml.get("weight_compression"):
        threshold = COREML_THRESHOLDS_DB["compressed"]
    else:
        threshold = THRESHOLDS_DB[str(artifact["precision"])]
    if any(isinstance(spec, Mapping) and spec.get("dtype") == "uint8"
           for spec in (artifact.get("input"), artifact.get("output"))):
        threshold = min(threshold, EIGHT_BIT_IO_DB)
    return float(threshold)


def read_selftest(folder: Path, section: dict[str, Any] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, expected)`` as (N, 3, H, W) tensors from a card's ``selftest`` section."""
    if not section:
        raise MobileganError(f"{folder}/model.json has no selftest vectors to verify against")
    shape = tuple(int(s) for s in section["shape"])
    count = int(np.prod(shape))

    def load(rel: str) -> torch.Tensor:
        path = folder / rel
        if not path.is_file():
            raise MobileganError(f"self-test vector {path} is missing")
        data = np.frombuffer(path.read_bytes(), dtype="<f4")
        if data.size != count:
            raise MobileganError(f"self-test vector {path}: {data.size} floats, expected {count} for shape {list(shape)}")
        return torch.from_numpy(data.astype(np.float32).reshape(shape))

    inputs = torch.cat([load(r) for r in section["inputs"]])
    expected = torch.cat([load(r) for r in section["expected"]])
    return inputs, expected
