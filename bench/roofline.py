"""Roofline *estimates* for phone classes: a lower bound on latency from MACs and peak FLOP/s.

These are estimates, not measurements. Peak = cores x clock x fp32 lanes x FMA pipes x 2.
Sources: Arm Cortex-X4 and Cortex-A720 software optimisation guides (4 and 2 128-bit NEON
FMA pipes), vendor clock speeds (Snapdragon 8 Gen 3: X4 at 3.3 GHz; Tensor G3: X3 at 2.91 GHz;
Dimensity 7200 A715 at 2.8 GHz); Apple A17 Pro P-core at 3.78 GHz with 4 128-bit FMA pipes
(Apple's published clock; pipe count from public microbenchmark analyses); the A17 Pro Neural
Engine's 35 TOPS is Apple's marketing figure for int8/fp16 and is shown only for scale.
The estimate assumes one big core (ExecuTorch/XNNPACK usually run 1-4 threads; the
latency of a single 256x256 image is dominated by the big cores).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhoneClass:
    name: str
    engine: str
    peak_gflops: float
    source: str

    def estimate_ms(self, macs: int, efficiency: float = 1.0) -> float:
        return 2 * macs / (self.peak_gflops * 1e9 * efficiency) * 1000


PHONE_CLASSES: tuple[PhoneClass, ...] = (
    PhoneClass("flagship Android 2024 (Snapdragon 8 Gen 3)", "1x Cortex-X4 @3.3 GHz, fp32 NEON",
               3.3 * 4 * 4 * 2, "3.3 GHz x 4 lanes x 4 FMA pipes x 2"),
    PhoneClass("Pixel 8 class (Tensor G3)", "1x Cortex-X3 @2.91 GHz, fp32 NEON",
               2.91 * 4 * 4 * 2, "2.91 GHz x 4 lanes x 4 FMA pipes x 2"),
    PhoneClass("mid-range Android (Dimensity 7200)", "1x Cortex-A715 @2.8 GHz, fp32 NEON",
               2.8 * 4 * 2 * 2, "2.8 GHz x 4 lanes x 2 FMA pipes x 2"),
    PhoneClass("iPhone 15 Pro (A17 Pro) CPU", "1x P-core @3.78 GHz, fp32 NEON",
               3.78 * 4 * 4 * 2, "3.78 GHz x 4 lanes x 4 FMA pipes x 2"),
    PhoneClass("iPhone 15 Pro (A17 Pro) Neural Engine", "ANE, fp16 (Apple: 35 TOPS)",
               35_000.0, "35 TOPS marketing figure (1 MAC = 2 ops), upper bound only"),
)


def roofline_table(macs: int) -> list[dict[str, object]]:
    """One row per phone class: the latency bound at 100% of peak and at a typical 30%."""
    return [
        {
            "phone": p.name,
            "engine": p.engine,
            "peak_gflops": round(p.peak_gflops, 1),
            "formula": p.source,
            "bound_ms": round(p.estimate_ms(macs), 2),
            "at_30pct_ms": round(p.estimate_ms(macs, 0.3), 2),
            "estimate": True,
        }
        for p in PHONE_CLASSES
    ]
