"""The ``coreml`` and ``executorch-coreml`` export targets (see :mod:`mobilegan.export.targets`).

Core ML options travel in ``job.options["coreml"]`` (a :class:`CoreMLOptions`; the CLI fills it
from ``--precision``, ``--min-ios``, ...). The ``coreml`` runner makes ``mobilegan verify``
re-check a package: Core ML on macOS, the MIL reference interpreter elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilegan.export.coreml import CoreMLOptions, export_coreml
from mobilegan.export.targets import ExportJob, Target, register_target
from mobilegan.utils.versions import package_versions

OPTIONS_KEY = "coreml"


def job_options(job: ExportJob) -> CoreMLOptions:
    options = (getattr(job, "options", None) or {}).get(OPTIONS_KEY)
    return options if isinstance(options, CoreMLOptions) else CoreMLOptions()


def run_coreml_package(path: Path, inputs: torch.Tensor) -> torch.Tensor:
    """Runner for parity/verify: (N, 3, H, W) in [0, 1] -> outputs in [0, 1]."""
    from mobilegan.export.coreml_parity import _run_coreml, _run_mil

    images = (inputs.detach().float().numpy() * 255.0)[:, None]  # (N, 1, 3, H, W) 0..255
    if sys.platform == "darwin":  # pragma: no cover - Core ML exists only on Apple platforms
        out = _run_coreml(Path(path), np.round(images))
    else:
        out = _run_mil(Path(path), images)[0]
    return torch.from_numpy(out[:, 0] / 255.0).float()


def _coreml_export(job: ExportJob) -> list[dict[str, Any]]:
    images = (job.test_inputs.detach().float().numpy() * 255.0)[:, None]
    artifacts = export_coreml(job.generator, job.staging, name=job.name, size=job.size, options=job_options(job),
                              images=images, check=job.verify)
    return [a.entry for a in artifacts]


def _executorch_coreml_export(job: ExportJob) -> list[dict[str, Any]]:
    from mobilegan.export.executorch_coreml import export_executorch_coreml
    from mobilegan.export.model_card import io_spec, make_artifact
    from mobilegan.utils.hashing import sha256_file

    options = job_options(job)
    options = CoreMLOptions(**{**options.__dict__, "palettize": None, "quantize_weights": None})
    file = f"{job.name}_coreml_{options.precision}.pte"
    lowered = export_executorch_coreml(job.generator, job.staging / file, size=job.size, options=options)
    shape = [1, 3, *job.size]
    versions = {"torch": torch.__version__.split("+")[0], **package_versions("executorch", "coremltools")}
    return [make_artifact(
        target="executorch-coreml", file=file, precision=options.precision, sha256=sha256_file(lowered.path),
        size_bytes=lowered.bytes, input_spec=io_spec("image", shape), output_spec=io_spec("stylized", shape),
        exporter=versions, delegation=lowered.delegation, parity=None,
        coreml={"min_ios": options.min_ios, "compute_units": options.compute_units},
    )]


COREML = register_target(Target(
    name="coreml",
    description="Core ML ML Program (.mlpackage, image I/O); parity via Core ML on macOS, MIL reference interpreter elsewhere",
    export=_coreml_export,
    run=run_coreml_package,
    precisions=("fp16", "fp32"),
))

EXECUTORCH_COREML = register_target(Target(
    name="executorch-coreml",
    description="ExecuTorch .pte lowered to the Core ML delegate (runs on Apple devices only; lowering and file checks here)",
    export=_executorch_coreml_export,
    run=None,
    precisions=("fp16", "fp32"),
    unchecked="the Core ML delegate runs only on Apple devices: lowering and the file's delegates are checked here, "
              "its numbers are not (run the iOS app's self-test)",
))
