"""``--target executorch-coreml``: an ExecuTorch ``.pte`` whose graph is lowered to Core ML.

For apps that want one runtime (ExecuTorch) on both platforms: on iOS the program runs
through the Core ML delegate. The delegate only runs on Apple devices, so here we lower,
serialize and check the file (it parses, every compute op sits in a ``CoreMLBackend``
segment); numerical parity of the same Core ML conversion is proven by the ``coreml``
target's reference interpreter, not by running this file.

I/O is the ExecuTorch convention (float32 NCHW in [0, 1], ``mobilegan.export.wrap``), so an
app handles this file exactly like the XNNPACK ``.pte``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.export.coreml import CoreMLOptions, _compute_units
from mobilegan.utils.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

BACKEND = "CoreMLBackend"


class ExecuTorchCoreMLError(MobileganError):
    """Lowering to the ExecuTorch Core ML delegate failed, or the written file is not sound."""


@dataclass(frozen=True)
class LoweredCoreML:
    path: Path
    bytes: int
    delegation: dict[str, Any]  # {"backend", "segments", "undelegated_ops"}


def lower(generator: nn.Module, *, size: tuple[int, int], options: CoreMLOptions) -> tuple[bytes, dict[str, Any]]:
    """torch.export -> to_edge_transform_and_lower(CoreMLPartitioner) -> .pte bytes + delegation report."""
    import coremltools as ct
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from mobilegan.export.delegation import delegation_report
    from mobilegan.export.wrap import wrap_for_export

    precision = ct.precision.FLOAT16 if options.precision == "fp16" else ct.precision.FLOAT32
    specs = CoreMLBackend.generate_compile_specs(
        compute_unit=_compute_units(options.compute_units),
        minimum_deployment_target=getattr(ct.target, f"iOS{options.min_ios}"),
        compute_precision=precision,
    )
    try:
        with torch.no_grad():
            program = torch.export.export(wrap_for_export(generator.eval()), (torch.full((1, 3, *size), 0.5),))
        edge = to_edge_transform_and_lower(program, partitioner=[CoreMLPartitioner(compile_specs=specs)])
        report = delegation_report(edge).to_dict()
        data = edge.to_executorch().buffer
    except Exception as exc:  # noqa: BLE001
        raise ExecuTorchCoreMLError(f"lowering to the ExecuTorch Core ML delegate failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return data, report


def check_pte(data: bytes) -> dict[str, int]:
    """The bytes are an ExecuTorch program whose delegates are all Core ML; returns delegate counts."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    if len(data) < 8 or data[4:6] != b"ET":
        raise ExecuTorchCoreMLError("not an ExecuTorch program (no ET file identifier)")
    try:
        program = deserialize_pte_binary(data).program
    except Exception as exc:  # noqa: BLE001
        raise ExecuTorchCoreMLError(f"the written .pte does not parse: {exc}") from None
    counts: dict[str, int] = {}
    for plan in program.execution_plan:
        for delegate in plan.delegates:
            counts[delegate.id] = counts.get(delegate.id, 0) + 1
    if set(counts) != {BACKEND}:
        raise ExecuTorchCoreMLError(f"expected only {BACKEND} delegates, found {counts or 'none'}")
    return counts


def export_executorch_coreml(
    generator: nn.Module, path: str | os.PathLike[str], *, size: tuple[int, int], options: CoreMLOptions = CoreMLOptions()
) -> LoweredCoreML:
    """Lower, check, and write ``path`` atomically (nothing is written when a check fails)."""
    if options.compressed:
        raise ExecuTorchCoreMLError("weight compression is only implemented for --target coreml")
    data, report = lower(generator, size=size, options=options)
    check_pte(data)
    if report["undelegated_ops"]:
        log.warning("executorch-coreml: ops outside the Core ML delegate: %s", report["undelegated_ops"])
    path = atomic_write_bytes(path, data)
    log.info("wrote %s (%d bytes, %d Core ML segment(s))", Path(path).name, len(data), report["segments"])  # path: a temp folder
    return LoweredCoreML(path=Path(path), bytes=len(data), delegation=report)
