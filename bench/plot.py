"""Pictures: latency / speed-up bars, the latency-vs-MACs scatter and the latency-fidelity front (matplotlib, Agg)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from mobilegan.bench.results import Row
from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_write_bytes


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MobileganError("plots need matplotlib: pip install matplotlib") from None
    return plt


def _save(fig, path: str | os.PathLike[str]) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return atomic_write_bytes(path, buf.getvalue())


def plot_latency(rows: list[Row], path: str | os.PathLike[str], title: str = "median latency") -> Path:
    plt = _plt()
    labels = [f"{r.model}\n{r.runtime} {r.precision} t{r.threads}" + (f"\n[{r.device}]" if r.source == "device" else "") for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.2 * len(rows) + 4), 4.5))
    colors = ["tab:orange" if r.source == "device" else "tab:blue" for r in rows]
    axes[0].bar(range(len(rows)), [r.median_ms for r in rows], color=colors,
                yerr=[[r.median_ms - r.p10_ms for r in rows], [r.p90_ms - r.median_ms for r in rows]], capsize=3)
    axes[0].set_ylabel("ms (median, p10-p90)")
    axes[0].set_title(title)
    speed = [r.speedup_vs_teacher or 0 for r in rows]
    axes[1].bar(range(len(rows)), speed, color=colors)
    axes[1].set_ylabel("speed-up vs teacher (x)")
    axes[1].set_title("speed-up (0 = no teacher row)")
    for ax in axes:
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_sweep(points: list[dict[str, float | str]], path: str | os.PathLike[str], title: str) -> Path:
    """Scatter of median latency against compat MACs, one labelled point per preset."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5))
    for p in points:
        ax.scatter(float(p["macs_compat"]) / 1e9, float(p["median_ms"]), s=40)
        ax.annotate(str(p["model"]), (float(p["macs_compat"]) / 1e9, float(p["median_ms"])), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("G MACs (compat convention)")
    ax.set_ylabel("median latency, ms")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_front(points: list[Any], path: str | os.PathLike[str], title: str) -> Path:
    """Latency (log x) against student-vs-teacher PSNR, one labelled point per candidate and precision;
    the Pareto front joined by a line (``points``: :class:`mobilegan.bench.front.FrontPoint`)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 6))
    for p in points:
        s2d = p.preset.startswith("mobile_s2d")
        ax.scatter(p.median_ms, p.psnr_db, s=60 if p.on_front else 30, marker="o" if p.precision == "fp32" else "^",
                   color="tab:red" if s2d else "tab:blue", edgecolors="black" if p.on_front else "none", zorder=3)
        ax.annotate(f"{p.label} {p.precision}", (p.median_ms, p.psnr_db), fontsize=7, xytext=(4, 3),
                    textcoords="offset points")
    front = sorted((p for p in points if p.on_front), key=lambda p: p.median_ms)
    ax.plot([p.median_ms for p in front], [p.psnr_db for p in front], color="black", lw=1, ls="--", zorder=2,
            label="front (nothing both faster and closer to the teacher)")
    ax.scatter([], [], color="tab:blue", label="full-resolution stem/head")
    ax.scatter([], [], color="tab:red", label="space-to-depth")
    ax.scatter([], [], color="grey", marker="^", label="int8 (triangles; circles fp32)")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("ExecuTorch XNNPACK median latency, ms (log)")
    ax.set_ylabel("PSNR vs teacher on held-out images, dB")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out
