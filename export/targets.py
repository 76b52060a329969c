"""Export targets: a registry ``name -> Target`` so exporters plug in without editing the CLI.

A target module calls :func:`register_target` at import time. The built-in modules listed
in :data:`TARGET_MODULES` are imported on first use; a module that is not installed yet
(e.g. ``coreml`` before it lands) is simply absent. ``all`` means every registered target
whose ``available()`` says it can run here (and, in the pipeline, int8 as well as fp32).

Contract of ``Target.export(job)``: write every file under ``job.staging`` (never into the
output folder), check parity there when ``job.verify`` (see :func:`verify_staged`), and
return one ``model.json`` artifact entry per file (``model_card.make_artifact``). The
pipeline moves the files into place only after every target succeeded.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mobilegan.errors import MobileganError
from mobilegan.export.parity import ParityResult, Runner, check_artifact

log = logging.getLogger(__name__)

TARGET_MODULES: tuple[str, ...] = ("mobilegan.export.executorch", "mobilegan.export.onnx", "mobilegan.export.coreml",
                                   "mobilegan.export.litert")
ALL = "all"


@dataclass(frozen=True)
class ExportJob:
    """Everything an exporter needs; built once by :func:`mobilegan.export.pipeline.export_model`."""

    name: str  # file stem, e.g. "mobile_w025" -> mobile_w025_fp32.pte
    generator: nn.Module  # eval-mode generator, [-1, 1] -> [-1, 1] (unchanged, never rewritten)
    reference: nn.Module  # [0, 1] -> [0, 1] eager wrapper around ``generator``: the parity reference
    size: tuple[int, int]  # (H, W)
    staging: Path  # write files here; the pipeline moves them into the output folder
    calib: torch.Tensor  # (N, 3, H, W) in [0, 1], int8 calibration
    test_inputs: torch.Tensor  # (M, 3, H, W) in [0, 1], parity inputs (also the self-test vectors)
    expected: torch.Tensor  # reference(test_inputs)
    quantize: str | None = None  # None or "int8"
    bundled: bool = False
    verify: bool = True
    dynamic_size: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # per-target options, e.g. {"coreml": CoreMLOptions}
    # What one target chose that a later one reuses instead of choosing again: "int8_ranges", the
    # name of the activation-range policy (mobilegan.export.int8_ranges) ExecuTorch's int8 kept, so
    # LiteRT's int8 calibrates once with it instead of sweeping every policy again.
    chosen: dict[str, str] = field(default_factory=dict)


Exporter = Callable[[ExportJob], list[dict[str, Any]]]


def _always() -> str | None:
    return None


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    export: Exporter
    run: Runner | None = None  # runs an artifact here for parity; None: cannot run on this machine
    available: Callable[[], str | None] = _always  # None, or why the target cannot export here
    precisions: tuple[str, ...] = ("fp32",)
    unchecked: str | None = None  # with run=None: why its artifacts cannot be checked here (model.json says it)
    runnable: Callable[[], str | None] = _always  # None, or why ``run`` cannot run here (e.g. runtime not installed)

    def unchecked_reason(self) -> str:
        return self.unchecked or f"{self.name} artifacts cannot run on this machine"


_TARGETS: dict[str, Target] = {}
_loaded = False


def register_target(target: Target) -> Target:
    if target.name == ALL:
        raise ValueError(f"{ALL!r} is reserved")
    if target.name in _TARGETS and _TARGETS[target.name] != target:
        raise ValueError(f"export target {target.name!r} registered twice")
    _TARGETS[target.name] = target
    return target


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in TARGET_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            log.debug("export target module %s is not installed", module)


def list_targets() -> list[str]:
    _load_builtin()
    return sorted(_TARGETS)


def get_target(name: str) -> Target:
    _load_builtin()
    try:
        return _TARGETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, [*_TARGETS, ALL], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MobileganError(f"unknown export target {name!r}{hint}; choose from: {', '.join([*sorted(_TARGETS), ALL])}") from None


def resolve_targets(names: Sequence[str]) -> list[Target]:
    """Expand ``all`` and check names; a target asked for by name must be able to run here."""
    chosen: list[Target] = []
    for name in names:
        if name == ALL:
            for target in (get_target(n) for n in list_targets()):
                reason = target.available()
                if reason is None:
                    chosen.append(target)
                else:
                    log.warning("--target all: skipping %s (%s)", target.name, reason)
        else:
            target = get_target(name)
            reason = target.available()
            if reason is not None:
                raise MobileganError(f"export target {name!r} cannot run here: {reason}")
            chosen.append(target)
    unique = list({t.name: t for t in chosen}.values())
    if not unique:
        raise MobileganError("no export target can run here")
    return unique


def target_for_artifact(artifact: dict[str, Any]) -> Target | None:
    _load_builtin()
    return _TARGETS.get(str(artifact.get("target")))


def verify_staged(job: ExportJob, target: Target, path: Path, *, precision: str) -> ParityResult | None:
    """Parity of a staged file against eager PyTorch (``None`` when verification is off or the
    target cannot run its artifacts here)."""
    if not job.verify:
        return None
    if target.run is None:  # said once, in the summary and model.json ("unchecked"), not here
        log.debug("%s: not checked here: %s", path.name, target.unchecked_reason())
        return None
    result = check_artifact(path, target.run, job.test_inputs, job.expected, precision=precision,
                            label=f"{target.name} {precision} ({path.name})")
    log.debug("parity %s: %s", path.name, result.summary())
    return result


def unchecked_reason(job: ExportJob, target: Target) -> str:
    """Why ``target``'s artifacts in ``job`` carry no parity (the ``unchecked`` field of model.json)."""
    return "exported with --no-verify" if not job.verify else target.unchecked_reason()
