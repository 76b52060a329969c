"""Self-test vectors (docs/model-json.md ``selftest``): raw little-endian float32, no header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilegan.errors import MobileganError
from mobilegan.export.parity import THRESHOLDS_DB
from mobilegan.utils.atomic import atomic_write_bytes

SELFTEST_DIR = "selftest"


def write_selftest(folder: Path, inputs: torch.Tensor, expected: torch.Tensor) -> dict[str, Any]:
    """Write one input/expected pair per image under ``folder/selftest``; returns the card section."""
    names_in, names_out = [], []
    for i in range(inputs.shape[0]):
        for tensor, names, stem in ((inputs, names_in, "input"), (expected, names_out, "expected")):
            rel = f"{SELFTEST_DIR}/{stem}_{i}.f32"
            atomic_write_bytes(folder / rel, tensor[i : i + 1].detach().contiguous().numpy().astype("<f4").tobytes())
            names.append(rel)
    return {"shape": [1, *inputs.shape[1:]], "layout": "NCHW", "dtype": "float32", "range": [0, 1],
            "inputs": names_in, "expected": names_out, "min_psnr_db": dict(THRESHOLDS_DB)}


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
