"""What the terminal shows: our results and progress, not the chatter of the libraries under us.

torch, coremltools, ExecuTorch and onnxscript log version warnings, proxy-loading failures,
partitioner and optimizer steps, draw their own progress bars, and ExecuTorch's native runtime
logs cpuinfo probes. None of it is something a user can act
on, so by default (no ``--debug`` / ``--verbose``):

- log records from loggers outside ``mobilegan`` pass only at ERROR and above
  (:class:`OwnRecordsOnly`, on the one root handler);
- torch's own handler gets the same level (``torch`` does not propagate to the root);
- Python warnings raised outside mobilegan are ignored;
- progress bars created by other packages are disabled (ours stay);
- the lines ExecuTorch's native runtime logs through ``sys.stderr`` are dropped
  (:class:`NativeLogFilter`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

OWN = "mobilegan"
NATIVE_LOG_LINE = re.compile(r"\[[\w./-]+\.(?:cpp|cc|c|h|hpp):\d+\] ")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever ``sys.stderr`` is at the time of each record (pytest's
    capture of the moment, or :class:`NativeLogFilter`), never to a stream closed since."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class OwnRecordsOnly(logging.Filter):
    """mobilegan's records at the configured level; everybody else's at ERROR and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == OWN or record.name.startswith(OWN + ".")
        return own or record.levelno >= logging.ERROR


def _caller_is_own(depth_limit: int = 12) -> bool:
    frame = sys._getframe(2)
    for _ in range(depth_limit):
        if frame is None:
            return False
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith("tqdm"):
            return module == OWN or module.startswith(OWN + ".")
        frame = frame.f_back
    return False


@contextlib.contextmanager
def foreign_progress_bars_disabled() -> Iterator[None]:
    """Bars that other packages create (coremltools' conversion passes) are built disabled."""
    try:
        from tqdm import std
    except ImportError:  # pragma: no cover - tqdm is a dependency
        yield
        return
    original = std.tqdm.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if not _caller_is_own():
            kwargs["disable"] = True
        original(self, *args, **kwargs)

    std.tqdm.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        std.tqdm.__init__ = original  # type: ignore[method-assign]


class NativeLogFilter:
    """``sys.stderr`` without the lines ExecuTorch's runtime logs through Python (``[file.cpp:71] ...``,
    e.g. its cpuinfo probes). The runtime writes a line in several pieces, so a line that starts
    with ``[`` is held until its newline and then written or dropped whole."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._held = ""
        self._line_start = True

    def write(self, text: str) -> int:
        if self._held or text == "[" or (self._line_start and text.startswith("[")):  # the runtime writes "[" alone
            self._held += text
            if "\n" in self._held or len(self._held) > 4096:
                line, self._held = self._held, ""
                if not NATIVE_LOG_LINE.match(line):
                    self._stream.write(line)
                self._line_start = line.endswith(("\n", "\r"))
            return len(text)
        self._line_start = text.endswith(("\n", "\r"))
        return self._stream.write(text)

    def flush(self) -> None:  # the runtime flushes after every piece: keep holding
        self._stream.flush()

    def release(self) -> None:
        if self._held:
            self._stream.write(self._held)
            self._held = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[None]:
    previous = sys.stderr
    filtered = NativeLogFilter(previous)
    sys.stderr = filtered  # type: ignore[assignment]
    try:
        yield
    finally:
        filtered.release()
        sys.stderr = previous


@contextlib.contextmanager
def quiet_third_parties(*, native: bool = True) -> Iterator[None]:
    """Everything in the module doc, for the duration of one command."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore")
        warnings.filterwarnings("default", module=rf"{OWN}(\.|$)")
        stack.enter_context(foreign_progress_bars_disabled())
        if native:
            stack.enter_context(native_logs_filtered())
        try:
            import torch  # noqa: F401  - torch installs its own stderr handler on import; quiet it
        except ImportError:  # pragma: no cover
            pass
        torch_logger = logging.getLogger("torch")
        level = torch_logger.level
        torch_logger.setLevel(max(level, logging.ERROR))
        try:
            yield
        finally:
            torch_logger.setLevel(level)
