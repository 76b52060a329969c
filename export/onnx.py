"""ONNX exporter: ``torch.onnx.export(dynamo=True)``, opset 18, checked with ``onnx.checker``
and run with onnxruntime for parity. Optional dynamic height/width (multiples of 4)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.export.model_card import io_spec, make_artifact
from mobilegan.export.targets import ExportJob, Target, register_target, verify_staged
from mobilegan.export.wrap import wrap_for_export
from mobilegan.utils.atomic import atomic_path
from mobilegan.utils.hashing import sha256_file
from mobilegan.utils.versions import package_versions

log = logging.getLogger(__name__)

OPSET = 18
INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
MAX_SIDE_QUARTERS = 2048  # dynamic sides up to 8192 px


def _dynamic_shapes() -> dict[str, dict[int, Any]]:
    # Sides are 4 * k: the generator's two stride-2 stages need multiples of 4.
    h4 = torch.export.Dim("height_div4", min=2, max=MAX_SIDE_QUARTERS)
    w4 = torch.export.Dim("width_div4", min=2, max=MAX_SIDE_QUARTERS)
    return {"image": {2: 4 * h4, 3: 4 * w4}}


def export_onnx_file(module: nn.Module, path: Path, *, size: tuple[int, int], dynamic: bool = False) -> Path:
    """Export ``module`` ([0, 1] wrapper) to ``path`` atomically and check it with ``onnx.checker``."""
    import onnx

    example = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        program = torch.onnx.export(
            module.eval(), (example,), dynamo=True, opset_version=OPSET, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_shapes=_dynamic_shapes() if dynamic else None, verbose=False,
        )
    if program is None:
        raise MobileganError("torch.onnx.export returned no program")
    with atomic_path(path) as tmp:
        program.save(str(tmp), external_data=False)
        onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
    return path


def run_onnx(path: Path, inputs: torch.Tensor) -> torch.Tensor:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outs = [session.run(None, {name: inputs[i : i + 1].numpy()})[0] for i in range(inputs.shape[0])]
    return torch.from_numpy(np.concatenate(outs))


def _versions() -> dict[str, str]:
    return {"torch": str(torch.__version__), "opset": str(OPSET), **package_versions("onnx", "onnxscript", "onnxruntime")}


def export_onnx(job: ExportJob) -> list[dict[str, Any]]:
    file = f"{job.name}_fp32.onnx"
    path = export_onnx_file(wrap_for_export(job.generator), job.staging / file, size=job.size, dynamic=job.dynamic_size)
    parity = verify_staged(job, ONNX, path, precision="fp32")
    shape = [1, 3, *job.size]
    extra = {"dynamic_hw": {"multiple_of": 4}} if job.dynamic_size else {}
    return [make_artifact(
        target="onnx", file=file, precision="fp32", sha256=sha256_file(path), size_bytes=path.stat().st_size,
        input_spec=io_spec(INPUT_NAME, shape), output_spec=io_spec(OUTPUT_NAME, shape), exporter=_versions(),
        delegation=None, parity=parity.to_dict() if parity else None, **extra,
    )]


ONNX = register_target(Target(
    name="onnx",
    description="ONNX (opset 18, dynamo exporter), runs in onnxruntime / onnxruntime-web",
    export=export_onnx,
    run=run_onnx,
))
