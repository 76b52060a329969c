"""LiteRT (TensorFlow Lite) exporter, read top to bottom as a pipeline:

    rewrite -> wrap ([0, 1]) -> (quantize int8) -> NHWC I/O -> convert (litert-torch) -> .tflite

``litert-torch`` converts a ``torch.export``-able module without TensorFlow. Modules the converter
cannot legalize or that XNNPACK would leave out are rewritten first
(:mod:`mobilegan.export.litert_rewrite`), so every generator here runs as one XNNPACK partition
(:mod:`mobilegan.export.litert_delegation` counts it). The files take and return NHWC images in
[0, 1], as an Android bitmap is laid out.

int8 is static PT2E with ExecuTorch's XNNPACK quantizer and our per-model activation-range choice
(:mod:`mobilegan.export.int8_ranges`), so the LiteRT and the ExecuTorch int8 files hold the same
quantized graph. litert-torch's own PT2E quantizer left every residual add in float
(DEQUANTIZE -> ADD -> QUANTIZE around each block); XNNPACK's annotates the adds too and gives one
fully int8 graph. The converter reads the weights' quantize / dequantize pairs (no folding) and
folds the image's quantize and dequantize into int8 I/O (the scale and zero point are in
model.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.export.int8_ranges import XNNPACK, Int8Flavor, choose_int8, policies_named
from mobilegan.export.litert_delegation import LiteRTDelegation, delegation_report
from mobilegan.export.litert_rewrite import rewrite_for_litert
from mobilegan.export.litert_runtime import (
    io_quantization,
    is_nhwc,
    litert_missing,
    native_stderr_to_debug_log,
    open_interpreter,
    run_tflite,
)
from mobilegan.export.model_card import io_spec, make_artifact
from mobilegan.export.targets import ExportJob, Target, register_target, verify_staged
from mobilegan.export.wrap import wrap_for_export
from mobilegan.utils.atomic import atomic_path
from mobilegan.utils.hashing import sha256_file
from mobilegan.utils.versions import package_versions

log = logging.getLogger(__name__)

SUFFIX = ".tflite"
# The XNNPACK quantizer, converted without folding the weights' quantize ops (the converter
# needs the quantize / dequantize pairs to legalize quantized weights).
LITERT_INT8 = dataclasses.replace(XNNPACK, name="xnnpack (for LiteRT)", fold_quantize=False)


def prepare_module(generator: nn.Module) -> nn.Module:
    """The [0, 1] -> [0, 1] NCHW module that is converted: the rewritten generator, wrapped."""
    rewritten, report = rewrite_for_litert(generator)
    if report.total:
        log.info("rewrote for LiteRT: %s", ", ".join(f"{k} x{v}" for k, v in sorted(report.replaced.items())))
    return wrap_for_export(rewritten)


def quantize_int8(module: nn.Module, calib: torch.Tensor, flavor: Int8Flavor = LITERT_INT8,
                  policy: str | None = None) -> nn.Module:
    """Static PT2E int8 of ``module`` (NCHW, [0, 1]), calibrated on ``calib`` with the activation
    ranges closest to fp32 (:func:`mobilegan.export.int8_ranges.choose_int8`), or with ``policy``
    when ExecuTorch's int8 of the same generator already chose one (one calibration, not four)."""
    with torch.no_grad():
        exported = torch.export.export(module.eval(), (calib[:1],))
    choice = choose_int8(exported.module(), calib, policies=policies_named(policy), flavor=flavor)
    tried = ", ".join(f"{name} {db:.1f} dB" for name, db in choice.calib_psnr_db.items())
    log.info("int8 activation ranges: %s (worst calibration image, int8 vs fp32: %s)", choice.policy.name, tried)
    return choice.module


def _litert_torch() -> Any:
    """``litert_torch``, imported with its native start-up chatter (absl, oneDNN) sent to the debug log."""
    with native_stderr_to_debug_log():
        import litert_torch
    return litert_torch


def channels_last(module: nn.Module) -> nn.Module:
    """``module`` taking and returning NHWC (litert-torch adds the transposes inside the graph).
    Not ``.eval()``-ed: ``module`` is already, and a converted PT2E graph refuses the call."""
    litert_torch = _litert_torch()
    return litert_torch.to_channel_last_io(module, args=[0], outputs=[0])


@contextlib.contextmanager
def _quiet_converter() -> Iterator[None]:
    """litert-torch prints a progress tree on stdout, where the CLI prints its results."""
    from litert_torch import progress

    console = progress.console
    before = console.quiet
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = before


def convert(module: nn.Module, example_nhwc: torch.Tensor, path: Path, *, quantized: bool) -> Path:
    """Convert an NHWC module to ``path`` (atomically)."""
    litert_torch = _litert_torch()

    kwargs: dict[str, Any] = {}
    if quantized:
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
        from litert_torch.quantize.quant_config import QuantConfig

        # Only tells the converter that the graph holds static int8 quantize / dequantize pairs.
        kwargs["quant_config"] = QuantConfig(
            pt2e_quantizer=PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True)))
    with _quiet_converter(), native_stderr_to_debug_log(), torch.no_grad():
        model = litert_torch.convert(module, (example_nhwc,), **kwargs)
        with atomic_path(path) as tmp:
            model.export(str(tmp))
    return path


@dataclasses.dataclass(frozen=True)
class LiteRTFile:
    path: Path
    delegation: LiteRTDelegation
    input: dict[str, Any]
    output: dict[str, Any]


def _io(detail: dict[str, Any], name: str) -> dict[str, Any]:
    shape = [int(s) for s in detail["shape"]]
    dtype = str(detail["dtype"].__name__ if hasattr(detail["dtype"], "__name__") else detail["dtype"])
    # int8 files: value in [0, 1] = (q - zero_point) * scale
    return io_spec(name, shape, layout="NHWC" if is_nhwc(shape) else "NCHW", dtype=dtype,
                   quantization=io_quantization(detail))


def describe_file(path: Path) -> LiteRTFile:
    """The I/O (names from the serving signature) and XNNPACK delegation of a ``.tflite``."""
    interpreter = open_interpreter(path, threads=1)
    signatures = interpreter.get_signature_list()
    sig = next(iter(signatures.values()), {"inputs": ["input"], "outputs": ["output"]})
    inp = _io(interpreter.get_input_details()[0], sig["inputs"][0])
    out = _io(interpreter.get_output_details()[0], sig["outputs"][0])
    return LiteRTFile(path=path, delegation=delegation_report(path), input=inp, output=out)


def build_file(generator: nn.Module, path: Path, *, size: tuple[int, int], precision: str,
               calib: torch.Tensor | None = None, int8_policy: str | None = None) -> LiteRTFile:
    """The whole pipeline: rewrite, wrap, (quantize), NHWC, convert, describe."""
    module = prepare_module(generator)
    if precision == "int8":
        if calib is None:
            raise ValueError("int8 needs calibration images")
        module = quantize_int8(module, calib, policy=int8_policy)
    elif precision != "fp32":
        raise ValueError(f"LiteRT export supports fp32 and int8, not {precision!r}")
    example = torch.rand(1, *size, 3, generator=torch.Generator().manual_seed(0))  # (1, H, W, 3)
    convert(channels_last(module), example, path, quantized=precision == "int8")
    described = describe_file(path)
    log.info("LiteRT %s delegation: %s", precision, described.delegation.summary())
    return described


def run_litert(path: Path, inputs: torch.Tensor) -> torch.Tensor:
    return run_tflite(path, inputs)


def exporter_versions() -> dict[str, str]:
    return {"torch": str(torch.__version__), **package_versions("litert-torch", "litert-converter", "ai-edge-litert",
                                                                "torchao")}


def export_litert(job: ExportJob) -> list[dict[str, Any]]:
    precisions = ["fp32"] + (["int8"] if job.quantize == "int8" else [])
    artifacts = []
    for precision in precisions:
        file = f"{job.name}_{precision}{SUFFIX}"
        built = build_file(job.generator, job.staging / file, size=job.size, precision=precision, calib=job.calib,
                           int8_policy=job.chosen.get("int8_ranges"))
        parity = verify_staged(job, LITERT, built.path, precision=precision)
        artifacts.append(make_artifact(
            target="litert", file=file, precision=precision, sha256=sha256_file(built.path),
            size_bytes=built.path.stat().st_size, input_spec=built.input, output_spec=built.output,
            exporter=exporter_versions(), delegation=built.delegation.to_dict(),
            parity=parity.to_dict() if parity else None,
        ))
    return artifacts


def _available() -> str | None:
    return litert_missing(convert=True)


LITERT = register_target(Target(
    name="litert",
    description="LiteRT (TensorFlow Lite) .tflite, XNNPACK on CPU, NHWC I/O (fp32; int8 with --quantize int8)",
    export=export_litert,
    run=run_litert,
    available=_available,
    runnable=litert_missing,  # verify / bench need only the interpreter, not the converter
    precisions=("fp32", "int8"),
))
