"""ExecuTorch + XNNPACK exporter, read top to bottom as a pipeline:

    rewrite -> wrap -> export -> (quantize int8) -> lower (XNNPACK) -> serialize (.pte / .bpte)

Each step is a named function. The exported graph takes and returns [0, 1] pixels
(:mod:`mobilegan.export.wrap`), and modules XNNPACK would leave out are rewritten first
(:mod:`mobilegan.export.rewrite`), so every generator lowers to one delegated segment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.export.delegation import DelegationReport, delegation_report
from mobilegan.export.model_card import io_spec, make_artifact
from mobilegan.export.rewrite import rewrite_for_xnnpack
from mobilegan.export.targets import ExportJob, Target, register_target, verify_staged
from mobilegan.export.wrap import wrap_for_export
from mobilegan.utils.atomic import atomic_write_bytes
from mobilegan.utils.hashing import sha256_file
from mobilegan.utils.versions import package_versions

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "stylized"


@dataclass(frozen=True)
class LoweredProgram:
    program: Any  # ExecutorchProgramManager
    delegation: DelegationReport

    @property
    def buffer(self) -> bytes:
        return self.program.buffer


def prepare_module(generator: nn.Module) -> nn.Module:
    """The [0, 1] -> [0, 1] module that is exported: the rewritten generator, wrapped."""
    rewritten, report = rewrite_for_xnnpack(generator)
    if report.total:
        log.info("rewrote for XNNPACK: %s", ", ".join(f"{k} x{v}" for k, v in sorted(report.replaced.items())))
    return wrap_for_export(rewritten)


def export_graph(module: nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    with torch.no_grad():
        return torch.export.export(module.eval(), (example,))


def quantize_int8(exported: torch.export.ExportedProgram, calib: torch.Tensor,
                  chosen: dict[str, str] | None = None) -> torch.export.ExportedProgram:
    """Static PT2E int8 (per-channel weights, per-tensor activations), calibrated on ``calib`` with
    the activation-range policy that keeps it closest to fp32 (:mod:`mobilegan.export.int8_ranges`).
    The policy's name is written to ``chosen["int8_ranges"]`` for other targets of the same job."""
    from mobilegan.export.int8_ranges import choose_int8

    choice = choose_int8(exported.module(), calib)
    tried = ", ".join(f"{name} {db:.1f} dB" for name, db in choice.calib_psnr_db.items())
    log.info("int8 activation ranges: %s (worst calibration image, int8 vs fp32: %s)", choice.policy.name, tried)
    if chosen is not None:
        chosen["int8_ranges"] = choice.policy.name
    return torch.export.export(choice.module, (calib[:1],))


def lower_to_xnnpack(exported: torch.export.ExportedProgram) -> Any:
    """``to_edge_transform_and_lower`` with the XNNPACK partitioner (an ``EdgeProgramManager``)."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    return to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])


def to_program(edge: Any) -> LoweredProgram:
    report = delegation_report(edge)
    return LoweredProgram(program=edge.to_executorch(), delegation=report)


def build_program(generator: nn.Module, *, size: tuple[int, int], precision: str,
                  calib: torch.Tensor | None = None, chosen: dict[str, str] | None = None) -> LoweredProgram:
    """The whole pipeline up to (not including) serialisation (``chosen``: see :func:`quantize_int8`)."""
    module = prepare_module(generator)
    example = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    exported = export_graph(module, example)
    if precision == "int8":
        if calib is None:
            raise ValueError("int8 needs calibration images")
        exported = quantize_int8(exported, calib, chosen)
    elif precision != "fp32":
        raise ValueError(f"ExecuTorch XNNPACK export supports fp32 and int8, not {precision!r}")
    lowered = to_program(lower_to_xnnpack(exported))
    log.info("delegation %s: %s", precision, lowered.delegation.summary())
    return lowered


def serialize(lowered: LoweredProgram, path: Path) -> Path:
    return atomic_write_bytes(path, lowered.buffer)


def serialize_bundled(lowered: LoweredProgram, path: Path, inputs: torch.Tensor, expected: torch.Tensor) -> Path:
    """A BundledProgram ``.bpte``: the program plus test inputs and their eager outputs."""
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    from executorch.devtools.bundled_program.serialize import serialize_from_bundled_program_to_flatbuffer

    cases = [MethodTestCase(inputs=[inputs[i : i + 1].contiguous()], expected_outputs=[expected[i : i + 1].contiguous()])
             for i in range(inputs.shape[0])]
    bundled = BundledProgram(lowered.program, [MethodTestSuite(method_name="forward", test_cases=cases)])
    return atomic_write_bytes(path, serialize_from_bundled_program_to_flatbuffer(bundled))


def run_pte(path: Path, inputs: torch.Tensor) -> torch.Tensor:
    """Run a ``.pte`` in the ExecuTorch Python runtime, one image at a time."""
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(Path(path)).load_method("forward")
    if method is None:
        raise RuntimeError(f"{path}: no forward method")
    return torch.cat([method.execute([inputs[i : i + 1].contiguous()])[0] for i in range(inputs.shape[0])])


# A quarter of one 8-bit output level ([0, 1] outputs): float sums in another order (thread count,
# another CPU's kernels) must not fail the self-check, a wrong program must. 1e-4 failed a correct
# context student (a mean over 65536 pixels feeds every block) at 2 threads and passed it at 1.
BUNDLED_ATOL = 1e-3


def check_bundled(path: Path, cases: int, *, atol: float = BUNDLED_ATOL) -> None:
    """Run the test cases a ``.bpte`` carries in the runtime against its expected outputs
    (the same check an app does on device with ``executorch::bundled_program``)."""
    from executorch.extension.pybindings import portable_lib

    bundle = portable_lib._load_bundled_program_from_buffer(Path(path).read_bytes())
    for i in range(cases):
        bundle.verify_result_with_bundled_expected_output("forward", i, rtol=1e-3, atol=atol)


def exporter_versions() -> dict[str, str]:
    return {"torch": str(torch.__version__), **package_versions("executorch", "torchao")}


def export_executorch(job: ExportJob) -> list[dict[str, Any]]:
    precisions = ["fp32"] + (["int8"] if job.quantize == "int8" else [])
    shape = [1, 3, *job.size]
    artifacts = []
    for precision in precisions:
        lowered = build_program(job.generator, size=job.size, precision=precision, calib=job.calib, chosen=job.chosen)
        file = f"{job.name}_{precision}.pte"
        path = serialize(lowered, job.staging / file)
        parity = verify_staged(job, EXECUTORCH, path, precision=precision)
        extra: dict[str, Any] = {}
        if job.bundled and precision == "fp32":
            extra["bundled"] = _bundle(job, lowered, f"{job.name}_{precision}.bpte")
        artifacts.append(make_artifact(
            target="executorch", file=file, precision=precision, sha256=sha256_file(path),
            size_bytes=path.stat().st_size, input_spec=io_spec(INPUT_NAME, shape), output_spec=io_spec(OUTPUT_NAME, shape),
            exporter=exporter_versions(), delegation=lowered.delegation.to_dict(),
            parity=parity.to_dict() if parity else None, **extra,
        ))
    return artifacts


def _bundle(job: ExportJob, lowered: LoweredProgram, file: str) -> dict[str, Any]:
    path = serialize_bundled(lowered, job.staging / file, job.test_inputs, job.expected)
    if job.verify:
        check_bundled(path, job.test_inputs.shape[0])
    return {"file": file, "sha256": sha256_file(path), "bytes": path.stat().st_size, "test_cases": job.test_inputs.shape[0]}


EXECUTORCH = register_target(Target(
    name="executorch",
    description="ExecuTorch .pte, XNNPACK delegate (fp32; int8 with --quantize int8)",
    export=export_executorch,
    run=run_pte,
    precisions=("fp32", "int8"),
))
