"""``mobilegan export`` options for the Core ML targets (added to the export parser by a hook)."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Core ML (--target coreml / executorch-coreml)")
    g.add_argument("--precision", choices=("fp16", "fp32"), default="fp16",
                   help="Core ML compute precision (default fp16; ops that would overflow fp16 stay fp32)")
    g.add_argument("--min-ios", type=int, choices=(15, 16, 17, 18), default=16, help="minimum iOS version (default 16)")
    g.add_argument("--compute-units", choices=("all", "cpu_and_ne", "cpu_and_gpu", "cpu_only"), default="all",
                   help="Core ML compute units (default all)")
    g.add_argument("--palettize", type=int, choices=(6, 8), help="also write a package with 6- or 8-bit palettized weights")
    g.add_argument("--quantize-weights", choices=("int8",), help="also write a package with int8 weights")
    g.add_argument("--tensor-io", action="store_true", help="float32 tensor input/output (0..255) instead of images")


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """``{"coreml": CoreMLOptions}`` for ``export_model(target_options=...)``."""
    from mobilegan.export.coreml import CoreMLOptions

    return {"coreml": CoreMLOptions(precision=args.precision, min_ios=args.min_ios, compute_units=args.compute_units,
                                    palettize=args.palettize, quantize_weights=args.quantize_weights,
                                    tensor_io=args.tensor_io)}
