"""Interleaved latency measurement and peak-memory reading.

Models are timed round-robin (one run of each in turn) after their warm-up, so drift in
clock speed or background load hits every model alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mobilegan.utils.progress import progress_bar


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int
    warmup: int
    peak_rss_mb: float | None  # process high-water mark while running once
    inference_mb: float | None  # of which added by that inference (activations, workspace)


def _percentile(sorted_ms: list[float], q: float) -> float:
    if len(sorted_ms) == 1:
        return sorted_ms[0]
    pos = q * (len(sorted_ms) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (pos - lo)


def summarize(samples_ms: list[float], warmup: int, peak: tuple[float, float] | None = None) -> Timing:
    s = sorted(samples_ms)
    return Timing(statistics.median(s), _percentile(s, 0.1), _percentile(s, 0.9), len(s), warmup,
                  peak[0] if peak else None, peak[1] if peak else None)


def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_peak_rss_mb(fn: Callable[[], object]) -> tuple[float, float] | None:
    """(process peak RSS, increase over the RSS before the call) in MB while running ``fn`` once;
    None where the OS cannot tell."""
    if not reset_peak_rss():
        return None
    before = _rss_kb("VmRSS")
    fn()
    hwm = _rss_kb("VmHWM")
    if hwm is None or before is None:
        return None
    return hwm / 1024, max(0, hwm - before) / 1024


def time_interleaved(fns: dict[str, Callable[[], object]], *, runs: int, warmup: int,
                     progress: bool = True) -> dict[str, Timing]:
    """Warm up each callable, record its peak RSS, then time all of them round-robin."""
    peaks: dict[str, tuple[float, float] | None] = {}
    for name, fn in fns.items():
        peaks[name] = measure_peak_rss_mb(fn)
        for _ in range(max(0, warmup - 1)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in progress_bar(range(runs), desc="bench", unit="round", disable=not progress, leave=False):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1000)
    return {name: summarize(samples[name], warmup, peaks[name]) for name in fns}
