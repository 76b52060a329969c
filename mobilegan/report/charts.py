"""Charts drawn in memory with matplotlib (Agg) and returned as PNG bytes: loss curves, latency bars."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from mobilegan.errors import MobileganError

HOST_COLOR = "#2f6fde"
DEVICE_COLOR = "#f79009"
EXAMPLE_COLOR = "#c8ccd4"
MAX_POINTS = 2000  # per curve; longer logs are thinned after smoothing


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MobileganError("the report's charts need matplotlib: pip install matplotlib") from None
    return plt


def _png(fig: Any) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average (NaNs skipped) so long noisy GAN curves stay readable; O(n) via cumulative sums."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, v, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    hi = np.arange(1, len(v) + 1)
    lo = np.maximum(0, hi - window)
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, (sums[hi] - sums[lo]) / np.maximum(n, 1), np.nan)
    return out.tolist()


def _thin(steps: list[float], values: dict[str, list[float]], limit: int) -> tuple[list[float], dict[str, list[float]]]:
    """Every k-th point so that at most about ``limit`` are drawn (the chart cannot show more anyway)."""
    k = max(1, -(-len(steps) // limit))
    return steps[::k], {name: ys[::k] for name, ys in values.items()}


def series(records: Sequence[dict[str, Any]]) -> tuple[list[float], dict[str, list[float]]]:
    """Steps and one list per numeric key (missing or non-finite values become NaN)."""
    keys: list[str] = []
    for rec in records:
        for k, v in rec.items():
            if k != "step" and k not in keys and (isinstance(v, (int, float)) and not isinstance(v, bool) or v is None):
                keys.append(k)
    steps = [float(rec.get("step", i)) if isinstance(rec.get("step", i), (int, float)) else float(i)
             for i, rec in enumerate(records)]

    def num(v: Any) -> float:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

    values = {k: [num(rec.get(k)) for rec in records] for k in keys}
    return steps, {k: v for k, v in values.items() if any(math.isfinite(x) for x in v)}


def loss_curves_png(records: Sequence[dict[str, Any]], title: str) -> bytes | None:
    """Losses against step (learning rate on its own small panel); ``None`` when nothing numeric was logged."""
    steps, values = series(records)
    lr = {k: v for k, v in values.items() if k == "lr" or k.startswith("lr_")}
    losses = {k: v for k, v in values.items() if k not in lr}
    if not losses and not lr:
        return None
    plt = _plt()
    panels = 2 if (losses and lr) else 1
    fig, axes = plt.subplots(panels, 1, figsize=(9, 4.2 if panels == 1 else 5.2), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1][:panels]})
    ax = axes[0][0]
    window = max(1, len(steps) // 40)
    shown = {name: (ys, _smooth(ys, window) if window > 1 else ys) for name, ys in (losses or lr).items()}
    x, raw = _thin(steps, {k: v[0] for k, v in shown.items()}, MAX_POINTS)
    _, smooth = _thin(steps, {k: v[1] for k, v in shown.items()}, MAX_POINTS)
    for name in shown:
        if window > 1:
            line = ax.plot(x, raw[name], linewidth=0.6, alpha=0.25)[0]
            ax.plot(x, smooth[name], linewidth=1.6, color=line.get_color(), label=name)
        else:
            ax.plot(x, raw[name], linewidth=1.4, marker="o" if len(x) < 30 else None, markersize=3, label=name)
    ax.set_title(title + (f" (moving average over {window} logs)" if window > 1 else ""), fontsize=11)
    ax.set_ylabel("loss" if losses else "learning rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=min(4, max(1, len(losses or lr))), loc="upper right")
    if panels == 2:
        lr_ax = axes[1][0]
        lr_x, lr_values = _thin(steps, lr, MAX_POINTS)
        for name, ys in lr_values.items():
            lr_ax.plot(lr_x, ys, linewidth=1.2, label=name, color="#667085")
        lr_ax.set_ylabel("lr")
        lr_ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel("step")
    fig.tight_layout()
    return _png(fig)


def latency_png(labels: Sequence[str], median_ms: Sequence[float], p10_ms: Sequence[float],
                p90_ms: Sequence[float], kinds: Sequence[str], title: str = "") -> bytes:
    """Horizontal latency bars (median, p10-p90 whiskers); ``kinds``: host, device or example."""
    plt = _plt()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.42 * n))
    color = {"host": HOST_COLOR, "device": DEVICE_COLOR, "example": EXAMPLE_COLOR}
    ys = list(range(n))[::-1]
    lo = [max(0.0, m - p) for m, p in zip(median_ms, p10_ms)]
    hi = [max(0.0, p - m) for m, p in zip(median_ms, p90_ms)]
    bars = ax.barh(ys, median_ms, xerr=[lo, hi], capsize=3, color=[color.get(k, HOST_COLOR) for k in kinds],
                   edgecolor=["#93370d" if k == "example" else "none" for k in kinds])
    for bar, kind in zip(bars, kinds):
        if kind == "example":
            bar.set_hatch("//")
    top = max((m + h for m, h in zip(median_ms, hi)), default=1.0) or 1.0
    for y, m, h, kind in zip(ys, median_ms, hi, kinds):
        ax.text(m + h + top * 0.015, y, f"{m:.1f} ms" + ("  EXAMPLE" if kind == "example" else ""),
                va="center", fontsize=8)
    from matplotlib.patches import Patch

    names = {"host": "measured on this host", "device": "measured on a device", "example": "EXAMPLE (format only)"}
    present = [k for k in names if k in kinds]
    ax.legend(handles=[Patch(facecolor=color[k], hatch="//" if k == "example" else None, label=names[k])
                       for k in present], fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(present),
              frameon=False)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel("median latency, ms (whiskers: p10-p90)")
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
