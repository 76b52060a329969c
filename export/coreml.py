"""Core ML export: generator -> ``torch.export`` -> ``coremltools.convert`` -> ``.mlpackage`` (ML Program).

Reads top to bottom as a pipeline::

    wrap (0..255 pixels in and out) -> torch.export -> convert (fp32) -> fp16 hazard scan
    -> convert (fp16, hazardous ops kept fp32) -> metadata -> compress? -> save (atomic) -> parity

Input and output are ``ImageType`` RGB by default, so ``VNCoreMLRequest`` hands the model
a camera frame and gets a pixel buffer back with no glue code; ``tensor_io=True`` gives
float32 MultiArrays (1, 3, H, W) holding the same 0..255 values instead.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_path

log = logging.getLogger(__name__)

PRECISIONS = ("fp16", "fp32")
COMPUTE_UNITS = ("all", "cpu_and_ne", "cpu_and_gpu", "cpu_only")
MIN_IOS = (15, 16, 17, 18)  # ML Programs need iOS 15; compressed weights need iOS 16
PALETTE_BITS = (6, 8)
WEIGHT_QUANT = ("int8",)
MAX_GUARD_ROUNDS = 3
INPUT_NAME = "image"
OUTPUT_NAME = "stylized"


class CoreMLExportError(MobileganError):
    """Core ML conversion or saving failed, or the options do not fit together."""


@dataclass(frozen=True)
class CoreMLOptions:
    """Everything that decides what the ``.mlpackage`` holds."""

    precision: str = "fp16"
    min_ios: int = 16
    compute_units: str = "all"
    tensor_io: bool = False
    palettize: int | None = None  # 6 or 8 bits per weight (k-means lookup table)
    quantize_weights: str | None = None  # "int8": linear symmetric, per output channel
    fp16_guard: bool = True  # keep ops whose values exceed the fp16 range in fp32

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise CoreMLExportError(f"Core ML precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")
        if self.min_ios not in MIN_IOS:
            raise CoreMLExportError(f"--min-ios must be one of {', '.join(map(str, MIN_IOS))} (got {self.min_ios})")
        if self.compute_units not in COMPUTE_UNITS:
            raise CoreMLExportError(f"compute units must be one of {', '.join(COMPUTE_UNITS)} (got {self.compute_units!r})")
        if self.palettize is not None and self.palettize not in PALETTE_BITS:
            raise CoreMLExportError(f"--palettize takes {' or '.join(map(str, PALETTE_BITS))} bits (got {self.palettize})")
        if self.quantize_weights is not None and self.quantize_weights not in WEIGHT_QUANT:
            raise CoreMLExportError(f"--quantize-weights takes {', '.join(WEIGHT_QUANT)} (got {self.quantize_weights!r})")
        if self.palettize is not None and self.quantize_weights is not None:
            raise CoreMLExportError("choose either --palettize or --quantize-weights, not both")
        if self.compressed and self.min_ios < 16:
            raise CoreMLExportError("compressed Core ML weights need --min-ios 16 or later")

    @property
    def compressed(self) -> bool:
        return self.palettize is not None or self.quantize_weights is not None

    @property
    def compression(self) -> str | None:
        if self.palettize is not None:
            return f"palettize{self.palettize}"
        return self.quantize_weights

    @property
    def artifact_precision(self) -> str:
        return self.precision

    def file_name(self, name: str) -> str:
        parts = [name, self.precision] + ([self.compression] if self.compression else [])
        return "_".join(parts) + ".mlpackage"


@dataclass(frozen=True)
class CoreMLMetadata:
    """Model metadata that Xcode shows and apps can read (``MLModel.modelDescription``)."""

    name: str
    version: str
    source_sha256: str = ""
    macs: int = 0
    size: tuple[int, int] = (256, 256)
    author: str = "mobilegan"
    license: str = "Apache-2.0"
    extra: dict[str, str] = field(default_factory=dict)


class CoreMLPixelWrapper(nn.Module):
    """Generator taking and returning NCHW RGB in 0..255 (what Core ML image I/O carries).

    Constants are buffers rather than Python scalars, so the exported graph holds them as
    weights (the same choice as :mod:`mobilegan.export.wrap`).
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.register_buffer("in_scale", torch.full((1, 1, 1, 1), 1.0 / 127.5))
        self.register_buffer("half_range", torch.full((1, 1, 1, 1), 127.5))

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) 0..255 -> same
        x = image * self.in_scale - 1.0  # [-1, 1]
        y = self.generator(x)  # tanh output in [-1, 1]
        return (y + 1.0) * self.half_range


def wrap_pixels_255(generator: nn.Module) -> CoreMLPixelWrapper:
    return CoreMLPixelWrapper(generator).eval()


def export_program(generator: nn.Module, size: tuple[int, int]) -> torch.export.ExportedProgram:
    """``torch.export`` of the 0..255 wrapper, decomposed to the core ATen set coremltools reads."""
    wrapped = wrap_pixels_255(generator)
    example = (torch.full((1, 3, *size), 128.0),)
    try:
        with torch.no_grad():
            program = torch.export.export(wrapped, example)
        return program.run_decompositions({})
    except Exception as exc:  # noqa: BLE001 - torch.export errors are long; keep the first line
        raise CoreMLExportError(f"torch.export failed: {str(exc).splitlines()[0]}") from None


def _ct_io(options: CoreMLOptions, size: tuple[int, int]) -> tuple[list[Any], list[Any]]:
    import coremltools as ct

    shape = (1, 3, *size)
    if options.tensor_io:
        return ([ct.TensorType(name=INPUT_NAME, shape=shape)], [ct.TensorType(name=OUTPUT_NAME)])
    rgb = ct.colorlayout.RGB
    return (
        [ct.ImageType(name=INPUT_NAME, shape=shape, color_layout=rgb)],
        [ct.ImageType(name=OUTPUT_NAME, color_layout=rgb)],
    )


def _compute_units(name: str) -> Any:
    import coremltools as ct

    return {
        "all": ct.ComputeUnit.ALL,
        "cpu_and_ne": ct.ComputeUnit.CPU_AND_NE,
        "cpu_and_gpu": ct.ComputeUnit.CPU_AND_GPU,
        "cpu_only": ct.ComputeUnit.CPU_ONLY,
    }[name]


def convert_program(
    program: torch.export.ExportedProgram,
    *,
    size: tuple[int, int],
    options: CoreMLOptions,
    fp32_ops: frozenset[str] = frozenset(),
) -> Any:
    """``coremltools.convert`` to an ML Program; ops named in ``fp32_ops`` stay fp32 in an fp16 model."""
    import coremltools as ct

    if options.precision == "fp32":
        precision: Any = ct.precision.FLOAT32
    elif fp32_ops:
        keep = set(fp32_ops)
        precision = ct.transform.FP16ComputePrecision(op_selector=lambda op: op.name not in keep)
    else:
        precision = ct.precision.FLOAT16
    inputs, outputs = _ct_io(options, size)
    try:
        return ct.convert(
            program,
            convert_to="mlprogram",
            inputs=inputs,
            outputs=outputs,
            minimum_deployment_target=getattr(ct.target, f"iOS{options.min_ios}"),
            compute_precision=precision,
            compute_units=_compute_units(options.compute_units),
            skip_model_load=True,  # Core ML cannot load models on Linux; the saved package is checked instead
        )
    except Exception as exc:  # noqa: BLE001
        raise CoreMLExportError(f"coremltools conversion failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def set_metadata(mlmodel: Any, meta: CoreMLMetadata, options: CoreMLOptions) -> None:
    from mobilegan.version import __version__

    h, w = meta.size
    mlmodel.short_description = (
        f"mobilegan {meta.name}: unpaired image-to-image translation (CycleGAN generator), "
        f"{w}x{h} RGB in, {w}x{h} RGB out"
    )
    mlmodel.author = meta.author
    mlmodel.license = meta.license
    mlmodel.version = meta.version
    io = "float32 (1, 3, H, W) tensor of 0..255 RGB" if options.tensor_io else "RGB image"
    mlmodel.input_description[INPUT_NAME] = f"{io}, {w}x{h}"
    mlmodel.output_description[OUTPUT_NAME] = f"translated {io}, {w}x{h}"
    user = {
        "mobilegan_version": __version__,
        "source_sha256": meta.source_sha256,
        "macs": str(meta.macs),
        "input_size": f"{h}x{w}",
        "precision": options.precision,
        "compute_units": options.compute_units,
        "io": "tensor" if options.tensor_io else "image",
        "pixel_range": "0,255",
    }
    if options.compression:
        user["weight_compression"] = options.compression
    user.update(meta.extra)
    mlmodel.user_defined_metadata.update(user)


def save_mlpackage(mlmodel: Any, dest: str | os.PathLike[str]) -> Path:
    """Save an ML Program atomically: readers see the old package or the complete new one."""
    import shutil

    dest = Path(dest)
    if dest.suffix != ".mlpackage":
        raise CoreMLExportError(f"{dest}: a Core ML ML Program must be saved as a .mlpackage folder")
    with atomic_path(dest) as tmp:
        # coremltools insists on the .mlpackage extension, so save beside the temp name, then move.
        staging = tmp.with_name(tmp.name[: -len(".tmp")] + ".staging.mlpackage")
        try:
            mlmodel.save(str(staging))
            os.replace(staging, tmp)
        except Exception as exc:  # noqa: BLE001
            raise CoreMLExportError(f"cannot save {dest}: {exc}") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return dest


def validate_mlpackage(path: str | os.PathLike[str]) -> Any:
    """Open a saved package the way Xcode would read its spec (no compilation: works on Linux)."""
    import coremltools as ct

    try:
        return ct.models.MLModel(str(path), skip_model_load=True)
    except Exception as exc:  # noqa: BLE001
        raise CoreMLExportError(f"{path}: not a valid Core ML package: {exc}") from None


# ---------------------------------------------------------------- the pipeline


@dataclass(frozen=True)
class CoreMLArtifact:
    """One written package and its model.json entry."""

    path: Path
    entry: dict[str, Any]


def _package_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _io_entry(name: str, size: tuple[int, int], tensor_io: bool) -> dict[str, Any]:
    shape = [1, 3, *size]
    if tensor_io:
        return {"name": name, "shape": shape, "layout": "NCHW", "dtype": "float32", "range": [0, 255]}
    return {"name": name, "shape": shape, "layout": "image", "dtype": "uint8", "color": "RGB", "range": [0, 255]}


def artifact_entry(path: Path, options: CoreMLOptions, size: tuple[int, int], parity: Any, fp32_ops: list[str]) -> dict[str, Any]:
    """The ``artifacts[]`` entry for docs/model-json.md (target ``coreml``)."""
    import coremltools as ct

    from mobilegan.utils.hashing import sha256_file

    return {
        "target": "coreml",
        "file": path.name,
        "precision": options.precision,
        "sha256": sha256_file(path),
        "bytes": _package_bytes(path),
        "input": _io_entry(INPUT_NAME, size, options.tensor_io),
        "output": _io_entry(OUTPUT_NAME, size, options.tensor_io),
        "delegation": None,
        "parity": {k: v for k, v in parity.to_dict().items() if k != "passed"},
        "coreml": {
            "format": "mlprogram",
            "min_ios": options.min_ios,
            "compute_units": options.compute_units,
            "weight_compression": options.compression,
            "fp32_ops": fp32_ops,
        },
        "exporter": {"torch": torch.__version__.split("+")[0], "coremltools": ct.__version__},
    }


def _convert_checked(
    program: torch.export.ExportedProgram,
    generator: nn.Module,
    path: Path,
    *,
    size: tuple[int, int],
    options: CoreMLOptions,
    meta: CoreMLMetadata,
    images: Any,
    engine: str,
) -> tuple[Any, Any, list[str]]:
    """Convert, save, and check; in fp16, re-convert keeping overflowing ops in fp32 until none is left.

    The reference interpreter runs the fp16 program in fp16, so it sees on Linux the
    overflow a phone would hit (e.g. InstanceNorm's squared deviations above 65504).
    """
    from mobilegan.export.coreml_parity import check_package, threshold_for

    fp32_ops: set[str] = set()
    for round_ in range(1, MAX_GUARD_ROUNDS + 1):
        mlmodel = convert_program(program, size=size, options=options, fp32_ops=frozenset(fp32_ops))
        set_metadata(mlmodel, meta, options)
        save_mlpackage(mlmodel, path)
        validate_mlpackage(path)
        parity, hazards = check_package(path, generator, threshold_db=threshold_for(options.precision, False), images=images, engine=engine)
        new = set(hazards) - fp32_ops
        if options.precision != "fp16" or not options.fp16_guard or not new:
            return mlmodel, parity, sorted(fp32_ops)
        if round_ == MAX_GUARD_ROUNDS:
            break
        log.warning("fp16 overflows or nears its limit in %s; re-converting with them in fp32", ", ".join(sorted(new)[:6]))
        fp32_ops |= new
    return mlmodel, parity, sorted(fp32_ops)


def export_coreml(
    generator: nn.Module,
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    size: tuple[int, int],
    options: CoreMLOptions = CoreMLOptions(),
    metadata: CoreMLMetadata | None = None,
    parity_inputs: int = 2,
    images: Any = None,
    engine: str = "auto",
    check: bool = True,
) -> list[CoreMLArtifact]:
    """Write ``<name>_<precision>.mlpackage`` (and a compressed variant when asked), each with parity.

    ``images``: parity probes, (count, 1, 3, H, W) float32 in 0..255 (default: synthetic).

    Raises :class:`~mobilegan.export.coreml_parity.CoreMLParityError` when a package does not
    meet its threshold (the package is then removed, so no unproven artifact is left behind).
    """
    import shutil

    from mobilegan.export.coreml_compress import compress
    from mobilegan.export.coreml_parity import check_parity, parity_images, require_parity, threshold_for

    generator = generator.eval().float().cpu()
    out_dir = Path(out_dir)
    meta = metadata or CoreMLMetadata(name=name, version="1", size=size)
    images = parity_images(size, parity_inputs) if images is None else images
    program = export_program(generator, size)
    base = CoreMLOptions(**{**options.__dict__, "palettize": None, "quantize_weights": None})
    path = out_dir / base.file_name(name)
    mlmodel, parity, fp32_ops = _convert_checked(
        program, generator, path, size=size, options=base, meta=meta, images=images, engine=engine
    )
    results = [(path, base, parity)]
    if options.compressed:
        small = compress(mlmodel, palettize_bits=options.palettize, quantize_weights=options.quantize_weights)
        set_metadata(small, meta, options)
        small_path = save_mlpackage(small, out_dir / options.file_name(name))
        validate_mlpackage(small_path)
        threshold = threshold_for(options.precision, True)
        results.append((small_path, options, check_parity(small_path, generator, threshold_db=threshold, images=images, engine=engine)))
    artifacts = []
    for pkg, opts, result in results:
        if check and not result.passed:
            for p, _, _ in results:
                shutil.rmtree(p, ignore_errors=True)
            require_parity(result, pkg.name)
        artifacts.append(CoreMLArtifact(path=pkg, entry=artifact_entry(pkg, opts, size, result, fp32_ops)))
    return artifacts


# Registers the "coreml" and "executorch-coreml" export targets (the targets registry imports
# this module by name). At the bottom because the target module uses the functions above.
from mobilegan.export import coreml_target as _coreml_target  # noqa: E402,F401
