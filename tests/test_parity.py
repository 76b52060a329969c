"""Parity maths, thresholds, the model card schema and the fixed synthetic images (no lowering)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from mobilegan.export.images import synthetic_images
from mobilegan.export.model_card import ModelCardError, io_spec, make_artifact, validate_card
from mobilegan.export.parity import THRESHOLDS_DB, ParityError, check_artifact, compare


def _images() -> torch.Tensor:
    return synthetic_images(3, (32, 40), seed=5)


def test_synthetic_images_are_fixed_and_in_range() -> None:
    a, b = synthetic_images(2, (32, 48), seed=0), synthetic_images(2, (32, 48), seed=0)
    assert a.shape == (2, 3, 32, 48)
    assert torch.equal(a, b)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert float(a.std()) > 0.05  # not flat
    assert not torch.equal(a, synthetic_images(2, (32, 48), seed=1))


def test_psnr_matches_definition() -> None:
    ref = _images()
    noisy = ref + 0.01  # MSE 1e-4 where not clipped -> 40 dB
    noisy = noisy.clamp(0, 1)
    result = compare(noisy, ref, precision="fp32")
    mse = max(float(((noisy - ref) ** 2).flatten(1).mean(1)[i]) for i in range(3))
    assert result.psnr_db == pytest.approx(10 * math.log10(1 / mse), abs=1e-6)
    assert result.max_abs == pytest.approx(0.01, abs=1e-6)
    assert result.inputs == 3


@pytest.mark.parametrize("precision", sorted(THRESHOLDS_DB))
def test_thresholds_reject_and_accept(precision: str) -> None:
    ref = _images()
    assert compare(ref.clone(), ref, precision=precision).passed
    bad = (ref + 0.2 * torch.randn_like(ref)).clamp(0, 1)  # about 15 dB
    result = compare(bad, ref, precision=precision)
    assert not result.passed and result.threshold_db == THRESHOLDS_DB[precision]


def test_worst_input_decides() -> None:
    ref = _images()
    out = ref.clone()
    out[1] = (out[1] + 0.1).clamp(0, 1)  # only one image is wrong
    assert not compare(out, ref, precision="int8").passed


def test_check_artifact_raises_one_line_error(tmp_path) -> None:
    ref = _images()
    with pytest.raises(ParityError, match=r"parity check failed: PSNR") as info:
        check_artifact(tmp_path / "x.pte", lambda path, x: 1 - x, ref, ref, precision="fp32", label="fake")
    assert "\n" not in str(info.value)
    ok = check_artifact(tmp_path / "x.pte", lambda path, x: x.clone(), ref, ref, precision="fp32", label="fake")
    assert ok.passed


def test_non_finite_output_fails() -> None:
    ref = _images()
    out = ref.clone()
    out[0, 0, 0, 0] = float("nan")
    assert not compare(out, ref, precision="int8").passed


def _card() -> dict:
    shape = [1, 3, 64, 64]
    art = make_artifact(target="onnx", file="m.onnx", precision="fp32", sha256="0" * 64, size_bytes=10,
                        input_spec=io_spec("image", shape), output_spec=io_spec("stylized", shape),
                        exporter={"torch": torch.__version__})
    return {"schema_version": 1, "name": "m", "mobilegan_version": "0", "created": "now",
            "source": {"checkpoint": "c.pt", "sha256": "0" * 64}, "config": {}, "params": 1, "macs": 2,
            "macs_compat": 3, "size": [64, 64], "artifacts": [art]}


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c.pop("macs"),
        lambda c: c.__setitem__("schema_version", 99),
        lambda c: c["artifacts"][0].__setitem__("target", "tflite"),
        lambda c: c["artifacts"][0].__setitem__("precision", "fp64"),
        lambda c: c["artifacts"][0].__setitem__("file", "../escape.onnx"),
        lambda c: c["artifacts"][0]["input"].pop("range"),
    ],
)
def test_card_schema_rejects_broken_cards(breakage) -> None:
    validate_card(_card())
    card = copy.deepcopy(_card())
    breakage(card)
    with pytest.raises(ModelCardError):
        validate_card(card)
