"""Describe the host CPU and compute its theoretical fp32 peak.

    peak GFLOP/s = threads x clock (GHz) x SIMD fp32 lanes x FMA pipes x 2 (an FMA is 2 FLOPs)

Lanes come from the CPU flags (AVX-512: 16, AVX2/AVX: 8, SSE/NEON: 4). The number of FMA
pipes per core is not exposed by the OS; we assume 2 for x86 cores with FMA (every Intel core
since Haswell and AMD since Zen 2 has two 256-bit FMA pipes) and say so in the output.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mobilegan.utils.versions import package_versions


@dataclass(frozen=True)
class CpuInfo:
    model: str
    cores: int
    clock_ghz: float
    simd: str
    fp32_lanes: int
    fma_pipes: int
    assumptions: str

    def peak_gflops(self, threads: int) -> float:
        return min(threads, self.cores) * self.clock_ghz * self.fp32_lanes * self.fma_pipes * 2

    def peak_formula(self, threads: int) -> str:
        t = min(threads, self.cores)
        return (f"{t} threads x {self.clock_ghz:.2f} GHz x {self.fp32_lanes} fp32 lanes ({self.simd}) x "
                f"{self.fma_pipes} FMA pipes x 2 = {self.peak_gflops(threads):.1f} GFLOP/s")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _clock_ghz(text: str) -> float:
    for candidate in ("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",):
        try:
            return int(Path(candidate).read_text()) / 1e6
        except (OSError, ValueError):
            pass
    if m := re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M):
        return float(m[1]) / 1000
    if m := re.search(r"^bogomips\s*:\s*([\d.]+)", text, re.M | re.I):
        return float(m[1]) / 2000  # x86 BogoMIPS = 2 x clock in MHz
    return 2.0


def describe_cpu() -> CpuInfo:
    text = _cpuinfo()
    flags_m = re.search(r"^(flags|Features)\s*:\s*(.*)$", text, re.M)
    flags = set(flags_m[2].split()) if flags_m else set()
    if "avx512f" in flags:
        simd, lanes = "AVX-512", 16
    elif "avx2" in flags or "avx" in flags:
        simd, lanes = "AVX2" if "avx2" in flags else "AVX", 8
    elif flags & {"neon", "asimd"}:
        simd, lanes = "NEON", 4
    else:
        simd, lanes = "SSE", 4
    fma = 2 if ("fma" in flags or flags & {"asimd"}) else 1
    model_m = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    return CpuInfo(
        model=model_m[1].strip() if model_m else platform.processor() or platform.machine(),
        cores=os.cpu_count() or 1,
        clock_ghz=round(_clock_ghz(text), 3),
        simd=simd,
        fp32_lanes=lanes,
        fma_pipes=fma,
        assumptions="FMA pipes per core assumed (not exposed by the OS); clock = nominal, not turbo",
    )


def describe_machine() -> dict[str, Any]:
    import torch

    versions = {"python": platform.python_version(), "torch": str(torch.__version__),
                **package_versions("executorch", "onnxruntime", "coremltools")}
    cpu = describe_cpu()
    return {
        "device": f"host: {cpu.model} ({cpu.cores} cores)",
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu.to_dict(),
        "versions": versions,
    }
