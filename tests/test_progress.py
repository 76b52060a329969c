"""One place decides how progress shows: bars on a terminal, one log line per loop elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from mobilegan.utils import progress as progress_mod
from mobilegan.utils.progress import LineProgress, progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gives_one_line_and_no_bar(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.delenv(progress_mod.ENV, raising=False)
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    caplog.set_level(logging.DEBUG, logger="mobilegan.progress")
    items = list(progress_bar(range(7), desc="convert", unit="file"))
    bar = progress_bar(total=5, desc="distill", unit="it")
    for i in range(5):
        bar.update(1)
        bar.set_postfix({"loss": 0.123456, "step": i}, refresh=False)
    bar.close()
    bar.close()  # closing twice logs once
    inner = progress_bar(range(3), desc="inner", unit="batch", leave=False)
    list(inner)
    drawn = err.getvalue()  # log lines may reach it (through a CLI's handler), bars never
    assert items == list(range(7)) and "\r" not in drawn and "%|" not in drawn and "it/s" not in drawn
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert lines[0][0] == logging.INFO and lines[0][1].startswith("convert: 7/7 file in ")
    assert lines[1][1].startswith("distill: 5/5 it in ") and lines[1][1].endswith("(loss 0.123, step 4)")
    assert lines[2][0] == logging.DEBUG and lines[2][1].startswith("inner: 3/3 batch")
    assert len(lines) == 3


def test_long_loops_report_on_the_way(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    clock = iter([0.0, 0.0, 30.0, 61.0, 90.0, 125.0, 130.0]).__next__
    monkeypatch.setattr(progress_mod.time, "perf_counter", clock)
    caplog.set_level(logging.INFO, logger="mobilegan.progress")
    bar = LineProgress(None, desc="train", unit="it", total=5, initial=0, level=logging.INFO)
    for _ in range(5):
        bar.update()
    bar.close()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[:2] == ["train: 3/5 it (60%), 61 s so far", "train: 5/5 it (100%), 125 s so far"]
    assert messages[2] == "train: 5/5 it in 130.0 s" and len(messages) == 3


def test_a_terminal_gets_a_tqdm_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress_mod.ENV, raising=False)
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    bar = progress_bar(range(3), desc="tiles", unit="tile", file=tty)
    assert not isinstance(bar, LineProgress)
    assert list(bar) == [0, 1, 2] and "tiles" in tty.getvalue() and "%|" in tty.getvalue()
    monkeypatch.setenv(progress_mod.ENV, "lines")
    assert isinstance(progress_bar(range(3), desc="x"), LineProgress)
    assert not hasattr(progress_bar(range(3), desc="x", disable=True), "_postfix")  # disabled: shows nothing
