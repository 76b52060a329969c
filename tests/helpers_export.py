"""Export helpers shared by test modules."""

from __future__ import annotations

import pytest


def one_int8_range_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """ExecuTorch int8 tries one activation-range policy instead of all four (each one a full calibration).

    For tests of what gets delegated, not of which policy wins: the range values do not change the graph's
    ops. The sweep itself is tested in tests/test_int8_ranges.py and by every int8 export fixture.
    """
    from mobilegan.export import int8_ranges

    real = int8_ranges.choose_int8
    monkeypatch.setattr(int8_ranges, "choose_int8",
                        lambda graph, calib, policies=None, **kwargs: real(graph, calib, int8_ranges.POLICIES[:1], **kwargs))
