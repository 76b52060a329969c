"""A small NumPy reference interpreter for Core ML ML Programs (MIL), so parity runs on Linux.

Core ML itself only runs on Apple platforms. On Linux we read a saved ``.mlpackage`` back
into its MIL program *with its weights* (coremltools' milproto loader, DESIGN.md §3) and
execute it op by op with the kernels in :mod:`mobilegan.export.mil_ops`:

* every op's result is converted to the op's declared dtype, so an fp16 program runs in
  fp16 (overflow to inf, precision loss) the way a device would store it;
* an op without a kernel is an error naming the op(s), never a silent skip (checked for the
  whole program before anything runs);
* optionally each op's peak magnitude (including intermediates inside composite ops) is
  traced, which tells the exporter which ops would overflow fp16.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilegan.errors import MobileganError
from mobilegan.export.mil_ops import KERNELS, MilOpError, OpArgs

log = logging.getLogger(__name__)

WEIGHTS_SUBDIR = Path("Data") / "com.apple.CoreML" / "weights"
FP16_MAX = float(np.finfo(np.float16).max)  # 65504


class UnknownMilOpError(MilOpError):
    """The program holds op types the reference interpreter has no kernel for."""


@dataclass(frozen=True)
class OpTrace:
    """What one op did in one run: its peak |value| (intermediates included) and non-finite count."""

    name: str
    op_type: str
    dtype: str
    peak: float
    nonfinite: int
    inputs_finite: bool = True

    @property
    def overflowed(self) -> bool:
        """Non-finite values that this op created (its inputs were all finite)."""
        return self.nonfinite > 0 and self.inputs_finite


@dataclass
class RunResult:
    outputs: dict[str, np.ndarray]
    trace: list[OpTrace] = field(default_factory=list)

    def nonfinite_ops(self) -> list[OpTrace]:
        return [t for t in self.trace if t.nonfinite]


def load_mlpackage_program(path: str | os.PathLike[str]) -> Any:
    """Read a saved ``.mlpackage`` back into a coremltools MIL ``Program`` with its weights."""
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto
    from coremltools.models.utils import load_spec

    path = Path(path)
    if not (path / "Manifest.json").is_file():
        raise MobileganError(f"{path}: not an .mlpackage (no Manifest.json)")
    try:
        spec = load_spec(str(path))
    except Exception as exc:  # noqa: BLE001 - a damaged package is a user-facing error
        raise MobileganError(f"{path}: cannot read the Core ML model spec: {exc}") from None
    if spec.WhichOneof("Type") != "mlProgram":
        raise MobileganError(f"{path}: not an ML Program (type {spec.WhichOneof('Type')}); only mlprogram is supported")
    try:
        return load_milproto(spec, spec.specificationVersion, str(path / WEIGHTS_SUBDIR))
    except Exception as exc:  # noqa: BLE001
        raise MobileganError(f"{path}: cannot load the MIL program and its weights: {exc}") from None


def _np_dtype(var: Any) -> np.dtype | None:
    """NumPy dtype of a MIL var's elements, or None for non-tensor values (strings, bools...)."""
    from coremltools.converters.mil.mil import types

    dtype = var.dtype
    if dtype in (types.fp16, types.fp32, types.fp64, types.int8, types.uint8, types.int16, types.uint16,
                 types.int32, types.uint32, types.int64, types.bool):
        return np.dtype(types.nptype_from_builtin(dtype))
    return None


class MilInterpreter:
    """Executes one function (``main``) of a MIL program with NumPy."""

    def __init__(self, program: Any, *, function: str = "main") -> None:
        if function not in program.functions:
            raise MobileganError(f"MIL program has no function {function!r} (has {', '.join(program.functions)})")
        self.function = program.functions[function]
        self.ops = list(self.function.operations)
        self._check_ops(self.ops)

    @staticmethod
    def _check_ops(ops: Iterable[Any]) -> None:
        unknown = sorted({op.op_type for op in ops if op.op_type != "const" and op.op_type not in KERNELS})
        if unknown:
            raise UnknownMilOpError(
                f"the MIL reference interpreter has no kernel for op(s): {', '.join(unknown)}"
                " (add them to mobilegan/export/mil_ops.py)"
            )
        nested = sorted({op.op_type for op in ops if getattr(op, "blocks", None)})
        if nested:
            raise UnknownMilOpError(f"control-flow ops are not supported by the MIL reference interpreter: {', '.join(nested)}")

    @property
    def input_names(self) -> list[str]:
        return list(self.function.inputs)

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.function.outputs]

    def op_types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.op_type] = counts.get(op.op_type, 0) + 1
        return dict(sorted(counts.items()))

    def run(self, inputs: Mapping[str, np.ndarray], *, trace: bool = False) -> RunResult:
        env: dict[str, Any] = {}
        for name, placeholder in self.function.inputs.items():
            if name not in inputs:
                raise MobileganError(f"missing input {name!r} (the program takes {', '.join(self.function.inputs)})")
            value = np.asarray(inputs[name])
            want = tuple(int(d) for d in placeholder.shape)
            if value.shape != want:
                raise MobileganError(f"input {name!r} has shape {value.shape}, the program wants {want}")
            env[name] = value.astype(_np_dtype(placeholder) or np.float32)
        traces: list[OpTrace] = []
        for op in self.ops:
            self._run_op(op, env, traces if trace else None)
        return RunResult(outputs={v.name: np.asarray(env[v.name]) for v in self.function.outputs}, trace=traces)

    def _value(self, var: Any, env: dict[str, Any], op: Any) -> Any:
        if var.name in env:
            return env[var.name]
        if var.val is not None:
            return var.val
        raise MobileganError(f"MIL op {op.op_type} ({op.name}) reads {var.name!r} before it is computed")

    def _run_op(self, op: Any, env: dict[str, Any], traces: list[OpTrace] | None) -> None:
        out_var = op.outputs[0]
        dtype = _np_dtype(out_var)
        if op.op_type == "const":
            value = out_var.val
            env[out_var.name] = np.asarray(value).astype(dtype) if dtype is not None else value
            return
        if len(op.outputs) != 1:
            raise MilOpError(f"MIL op {op.op_type} ({op.name}) has {len(op.outputs)} outputs; only single-output ops are supported")
        inputs: dict[str, Any] = {}
        for key, var in op.inputs.items():
            if isinstance(var, (list, tuple)):
                inputs[key] = [self._value(v, env, op) for v in var]
            else:
                inputs[key] = self._value(var, env, op)
        compute = np.dtype(np.float16) if dtype == np.float16 else np.dtype(np.float32)
        args = OpArgs(op_type=op.op_type, name=op.name, inputs=inputs, dtype=compute)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = np.asarray(KERNELS[op.op_type](args))
            if dtype is not None:
                result = result.astype(dtype)
        want = tuple(int(d) for d in out_var.shape) if out_var.shape is not None else None
        if want is not None and result.shape != want:
            raise MilOpError(f"MIL op {op.op_type} ({op.name}) produced shape {result.shape}, the program declares {want}")
        env[out_var.name] = result
        if traces is not None and result.dtype.kind == "f":
            traces.append(_trace(op, result, args))


def _all_finite(values: Iterable[Any]) -> bool:
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, np.ndarray) and item.dtype.kind == "f" and not np.isfinite(item).all():
                return False
    return True


def _trace(op: Any, result: np.ndarray, args: OpArgs) -> OpTrace:
    finite = np.isfinite(result)
    peak = float(np.abs(result[finite]).max()) if finite.any() else 0.0
    return OpTrace(
        name=op.name,
        op_type=op.op_type,
        dtype=str(result.dtype),
        peak=max(peak, args.peak()),
        nonfinite=int(result.size - finite.sum()),
        inputs_finite=_all_finite(args.inputs.values()),
    )


def run_mlpackage(path: str | os.PathLike[str], inputs: Mapping[str, np.ndarray], *, trace: bool = False) -> RunResult:
    """Load a saved ``.mlpackage`` and execute it with the reference interpreter."""
    return MilInterpreter(load_mlpackage_program(path)).run(inputs, trace=trace)
