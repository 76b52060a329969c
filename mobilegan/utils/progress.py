"""Progress for long loops: a tqdm bar on a terminal, plain log lines anywhere else.

Every long loop in mobilegan goes through :func:`progress_bar`; it alone decides how progress is shown.
When stderr is a terminal it returns a tqdm bar. When it is not (``make demo > demo.log 2>&1``, a
pipe, CI) bars would leave carriage returns and half-drawn fragments in the file, so it returns a
:class:`LineProgress` instead: no output while the loop runs, one log line when it ends
(``distill: 1250/1250 it in 301.2 s (loss 0.12)``), and for a loop that runs longer, one line a
minute on the way. Stage bars (``leave=True``) log at INFO; the short inner loops that vanish from a
terminal when done (``leave=False``) log at DEBUG (``-v``).

``MOBILEGAN_PROGRESS=bars`` or ``=lines`` overrides the terminal test.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

log = logging.getLogger("mobilegan.progress")

T = TypeVar("T")
ENV = "MOBILEGAN_PROGRESS"
INTERIM_S = 60.0  # a line at most this often while a long loop runs


def bars_wanted() -> bool:
    """Whether progress is drawn as bars: stderr is a terminal (unless ``MOBILEGAN_PROGRESS`` says otherwise)."""
    choice = os.environ.get(ENV, "").strip().lower()
    if choice in ("bars", "bar", "1", "yes"):
        return True
    if choice in ("lines", "line", "0", "no"):
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


class LineProgress:
    """The part of tqdm's interface our loops use, reporting one log line on close instead of a bar."""

    def __init__(self, iterable: Iterable[Any] | None, *, desc: str, unit: str, total: float | None,
                 initial: float, level: int) -> None:
        self.iterable = iterable
        self.desc = desc
        self.unit = unit
        self.total = total if total is not None else _length(iterable)
        self.n = initial
        self._start_n = initial
        self._level = level
        self._postfix = ""
        self._t0 = self._last_line = time.perf_counter()
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        assert self.iterable is not None
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self._last_line >= INTERIM_S:
            self._last_line = now
            share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
            log.log(self._level, "%s: %s%s, %.0f s so far%s", self.desc, self._count(), share, now - self._t0,
                    f" ({self._postfix})" if self._postfix else "")

    def _count(self) -> str:
        return f"{_num(self.n)}/{_num(self.total)} {self.unit}" if self.total else f"{_num(self.n)} {self.unit}"

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self._postfix = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self._postfix = s

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        """Nothing to redraw: lines are written when a loop ends (tqdm's API, for callers)."""

    def write(self, s: str, *args: Any, **kwargs: Any) -> None:
        log.info("%s", s)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        done = self.n - self._start_n
        if done <= 0:
            return
        line = f"{self.desc}: {self._count()} in {time.perf_counter() - self._t0:.1f} s"
        log.log(self._level, "%s%s", line, f" ({self._postfix})" if self._postfix else "")


def _length(iterable: Iterable[Any] | None) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def _num(x: float | None) -> str:
    return "?" if x is None else (str(int(x)) if float(x).is_integer() else f"{x:.1f}")


def progress_bar(iterable: Iterable[T] | None = None, *, desc: str, unit: str = "it", total: float | None = None,
             initial: float = 0, leave: bool = True, disable: bool | None = False, **bar_options: Any) -> Any:
    """A tqdm bar on a terminal, else a :class:`LineProgress`; ``disable=True`` shows nothing at all.

    ``disable=None`` keeps tqdm's meaning (no bar when not a terminal), which is now the default anyway.
    """
    if disable:
        return tqdm(iterable, total=total, initial=initial, disable=True)
    if bars_wanted():
        return tqdm(iterable, desc=desc, unit=unit, total=total, initial=initial, leave=leave, **bar_options)
    return LineProgress(iterable, desc=desc, unit=unit, total=total, initial=initial,
                        level=logging.INFO if leave else logging.DEBUG)
