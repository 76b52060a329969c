"""``verify_export``: re-check an export folder against its ``model.json``.

For every artifact: the file exists and its sha256 and size match the card; then, when its
target can run here, it is run on the folder's self-test inputs and compared with the
stored eager PyTorch outputs (same thresholds as at export). Nothing is written unless
``update=True``, which records the fresh parity numbers in ``model.json`` (hashes are
never rewritten: a changed file is a failure, re-export it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilegan.utils.progress import progress_bar

from mobilegan.export.model_card import ModelCard, read_card, write_card
from mobilegan.export.parity import ParityResult, compare
from mobilegan.export.selftest import read_selftest
from mobilegan.export.targets import target_for_artifact
from mobilegan.utils.hashing import sha256_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArtifactCheck:
    file: str
    target: str
    precision: str
    status: str  # "ok" | "failed" | "skipped"
    detail: str
    parity: ParityResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "target": self.target, "precision": self.precision, "status": self.status,
                "detail": self.detail, "parity": self.parity.to_dict() if self.parity else None}


@dataclass(frozen=True)
class VerifyReport:
    folder: Path
    checks: tuple[ArtifactCheck, ...] = field(default_factory=tuple)
    updated: bool = False

    @property
    def ok(self) -> bool:
        return all(c.status != "failed" for c in self.checks)

    @property
    def failed(self) -> list[ArtifactCheck]:
        return [c for c in self.checks if c.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "ok": self.ok, "updated": self.updated,
                "artifacts": [c.to_dict() for c in self.checks]}


def _check_one(folder: Path, artifact: dict[str, Any], inputs: Any, expected: Any) -> ArtifactCheck:
    file, target_name, precision = artifact["file"], artifact["target"], artifact["precision"]

    def result(status: str, detail: str, parity: ParityResult | None = None) -> ArtifactCheck:
        return ArtifactCheck(file=file, target=target_name, precision=precision, status=status, detail=detail,
                             parity=parity)

    path = folder / file
    if not path.exists():
        return result("failed", "file is missing")
    digest = sha256_file(path)
    if digest != artifact["sha256"]:
        return result("failed", f"sha256 differs from model.json ({digest[:12]} != {artifact['sha256'][:12]}): "
                                "the file was changed after export")
    target = target_for_artifact(artifact)
    if target is None or target.run is None:
        why = artifact.get("unchecked") or (target.unchecked_reason() if target else f"no {target_name} target here")
        return result("skipped", f"sha256 ok; not checked here: {why}")
    if (missing := target.runnable()) is not None:
        return result("skipped", f"sha256 ok; not checked here: {missing}")
    try:
        parity = compare(target.run(path, inputs), expected, precision=precision)
    except Exception as exc:  # noqa: BLE001 - a runtime refusing the file is a failed check, reported in one line
        return result("failed", f"runtime error: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")
    return result("ok" if parity.passed else "failed", f"sha256 ok; {parity.summary()}", parity)


def verify_export(folder: str | os.PathLike[str], *, update: bool = False) -> VerifyReport:
    """Check every artifact listed in ``folder/model.json`` (see module doc)."""
    root = Path(folder)
    card = read_card(root)
    inputs, expected = read_selftest(root, card.selftest)
    checks = tuple(_check_one(root, a, inputs, expected)
                   for a in progress_bar(card.artifacts, desc="verify", unit="artifact", leave=False))
    for check in checks:
        log.debug("%s: %s %s", check.file, check.status, check.detail)  # the CLI prints each check
    if update:
        write_card(root, _updated(root, card, checks))
    return VerifyReport(folder=root, checks=checks, updated=update)


def _updated(root: Path, card: ModelCard, checks: tuple[ArtifactCheck, ...]) -> ModelCard:
    by_file = {c.file: c for c in checks}
    artifacts = []
    for artifact in card.artifacts:
        check = by_file.get(artifact["file"])
        new = dict(artifact)
        if check is not None and check.parity is not None:
            new["parity"] = check.parity.to_dict()
        artifacts.append(new)
    return ModelCard(**{**card.__dict__, "artifacts": tuple(artifacts)})
