"""Per-artifact self-test thresholds: model.json (schema 2) carries them and every app reads them.

The exporter derives each artifact's ``selftest_min_psnr_db`` from its precision and I/O
(``mobilegan.export.selftest.selftest_threshold_db``); the iOS, Android and web apps compare their
on-device self-test with that number, never with a per-precision table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers_apps import ANDROID_CARD_FIXTURE, contract_card, psnr
from mobilegan.export import model_card
from mobilegan.export.selftest import EIGHT_BIT_CAP_DB, EIGHT_BIT_IO_DB, selftest_threshold_db

REPO = Path(__file__).resolve().parent.parent
APPS = REPO / "apps"
KOTLIN = APPS / "android" / "app" / "src" / "main" / "java" / "dev" / "mobilegan" / "sample"
IOS = APPS / "ios" / "MobileGAN"
WEB = APPS / "web" / "src"

IMAGE = {"layout": "image", "dtype": "uint8", "color": "RGB", "range": [0, 255]}
TENSOR = {"layout": "NCHW", "dtype": "float32", "range": [0, 1]}


def _artifact(precision: str, io: dict, compression: str | None = None) -> dict:
    art = {"precision": precision, "input": dict(io), "output": dict(io)}
    if compression is not None or io is IMAGE:
        art["coreml"] = {"weight_compression": compression}
    return art


@pytest.mark.parametrize(("artifact", "expected"), [
    (_artifact("fp32", TENSOR), 60.0),  # ExecuTorch / ONNX fp32
    (_artifact("int8", TENSOR), 30.0),
    (_artifact("fp16", TENSOR), 40.0),  # Core ML --tensor-io, ExecuTorch Core ML delegate
    (_artifact("fp16", IMAGE), 40.0),  # the default Core ML package
    (_artifact("fp32", IMAGE), EIGHT_BIT_IO_DB),  # 8-bit output: never 60 dB
    (_artifact("fp16", IMAGE, "palettize6"), 30.0),  # what the exporter checked it against
    (_artifact("fp16", IMAGE, "int8"), 30.0),
])
def test_threshold_follows_precision_and_io(artifact: dict, expected: float) -> None:
    assert selftest_threshold_db(artifact) == expected


def test_eight_bit_threshold_is_reachable_and_the_fp32_one_is_not() -> None:
    """Rounding an exact output to 8 bits (what image output does) scores about 58.9 dB: below the
    fp32 threshold, above the 8-bit one, so a perfect Core ML fp32 package passes its self-test."""
    exact = np.random.default_rng(0).random((3, 64, 64))
    rounded = np.round(exact * 255) / 255
    measured = psnr(rounded, exact)
    assert abs(measured - EIGHT_BIT_CAP_DB) < 0.2
    assert EIGHT_BIT_IO_DB < measured < selftest_threshold_db(_artifact("fp32", TENSOR))


def test_written_cards_carry_a_threshold_per_artifact(tmp_path: Path) -> None:
    card = model_card.ModelCard.from_dict(contract_card())
    path = model_card.write_card(tmp_path, card)
    written = json.loads(path.read_text())
    assert written["schema_version"] == model_card.SCHEMA_VERSION == 2
    assert "min_psnr_db" not in written["selftest"]  # the per-precision table of schema 1 is gone
    for artifact in written["artifacts"]:
        assert artifact["selftest_min_psnr_db"] == selftest_threshold_db(artifact), artifact["file"]


def test_schema_2_requires_the_threshold_and_schema_1_cards_still_read() -> None:
    data = contract_card()
    del data["artifacts"][1]["selftest_min_psnr_db"]
    with pytest.raises(model_card.ModelCardError, match=r"artifacts\[1\].*selftest_min_psnr_db"):
        model_card.validate_card(data)
    data["artifacts"][1]["selftest_min_psnr_db"] = "40"
    with pytest.raises(model_card.ModelCardError, match="selftest_min_psnr_db"):
        model_card.validate_card(data)
    old = contract_card()
    old["schema_version"] = 1
    for artifact in old["artifacts"]:
        del artifact["selftest_min_psnr_db"]
    model_card.validate_card(old)  # mobilegan itself still reads version 1 cards
    rewritten = model_card.ModelCard.from_dict(old).to_dict()
    assert all(a["selftest_min_psnr_db"] == selftest_threshold_db(a) for a in rewritten["artifacts"])


def test_android_fixture_is_what_the_exporter_writes() -> None:
    """apps/android/app/src/test/resources/model-card.json feeds the JVM unit tests (CI)."""
    assert json.loads(ANDROID_CARD_FIXTURE.read_text()) == contract_card(), (
        "stale fixture: regenerate with `python tests/helpers_apps.py`")


# --- each app reads the threshold from the artifact it runs ---------------------------------------


def test_apps_read_the_artifact_threshold_not_a_precision_table() -> None:
    sources = {
        "android": (KOTLIN / "ModelCard.kt").read_text() + (KOTLIN / "SelfTest.kt").read_text(),
        "ios": (IOS / "ModelCard.swift").read_text() + (IOS / "SelfTest.swift").read_text(),
        "web": (WEB / "model-card.js").read_text() + (WEB / "selftest.js").read_text(),
    }
    for app, text in sources.items():
        assert '"selftest_min_psnr_db"' in text or "artifact.selftest_min_psnr_db" in text, app
        assert not re.search(r"\bmin_psnr_db\b", text.replace("selftest_min_psnr_db", "")), (
            f"{app} still reads the schema-1 table selftest.min_psnr_db")
    # ... and the self-test compares with it
    assert re.search(r"val threshold = artifact\.selfTestMinPsnrDb", sources["android"])
    assert re.search(r"val threshold = reference\.selfTestMinPsnrDb", sources["android"])  # .bpte cases
    assert re.search(r"let threshold = model\.artifact\.selftestMinPsnrDb", sources["ios"])
    assert re.search(r"const threshold = model\.selftestMinPsnrDb", sources["web"])


def test_apps_accept_exactly_the_schema_the_exporter_writes() -> None:
    found = {
        "android": re.search(r"const val SCHEMA_VERSION = (\d+)", (KOTLIN / "ModelCard.kt").read_text()),
        "ios": re.search(r"static let supportedSchemaVersion = (\d+)", (IOS / "ModelCard.swift").read_text()),
        "web": re.search(r"export const SCHEMA_VERSION = (\d+);", (WEB / "model-card.js").read_text()),
    }
    assert {app: int(m.group(1)) for app, m in found.items() if m} == dict.fromkeys(found, model_card.SCHEMA_VERSION)


def test_model_json_doc_describes_schema_2() -> None:
    doc = (REPO / "docs" / "model-json.md").read_text()
    assert f'"schema_version": {model_card.SCHEMA_VERSION}' in doc
    for key in ("selftest_min_psnr_db", '"dtype": "uint8"', '"color": "RGB"', '"coreml": {', "weight_compression",
                "fp32_ops", "compute_units", "min_ios"):
        assert key in doc, key
    assert '"min_psnr_db": {' not in doc.split("Schema version 1 cards")[0]
