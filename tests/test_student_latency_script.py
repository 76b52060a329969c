"""``scripts/student_latency.py``'s student specs: a preset, optionally with config overrides."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mobilegan.models import create_model

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "student_latency.py"


def _script():
    spec = importlib.util.spec_from_file_location("student_latency", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_spec_names_a_preset_and_its_overrides() -> None:
    parse = _script().parse_student
    assert parse("mobile_s2d4_w025") == ("mobile_s2d4_w025", {})
    name, overrides = parse("mobile_s2d4_w025_ctx:width=0.5,context_clamp=false,norm=batch")
    assert (name, overrides) == ("mobile_s2d4_w025_ctx", {"width": 0.5, "context_clamp": False, "norm": "batch"})
    assert create_model(name, **overrides).config.width == 0.5


def test_an_override_without_a_value_is_one_error_line() -> None:
    with pytest.raises(SystemExit, match="use key=value"):
        _script().parse_student("mobile_s2d4_w025:width")
