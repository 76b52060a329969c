"""Copy an export folder's artifact(s) + ``model.json`` into a sample app's model folder.

Each app looks for its model in one fixed folder and learns everything else from
``model.json`` (docs/model-json.md), so installing a different student is a file copy:

====== ============================================= ===========================================
app    folder (under ``apps/``)                      what is copied
====== ============================================= ===========================================
ios    ``ios/MobileGAN/Model/``                      one Core ML ``.mlpackage`` (Xcode compiles it):
                                                     the uncompressed one, as the app loads one
android ``android/app/src/main/assets/model/``       the ExecuTorch ``.pte`` files (fp32, int8),
                                                     any BundledProgram ``.bpte`` and the LiteRT
                                                     ``.tflite`` files
web    ``web/model/``                                the ``.onnx`` (+ its ``.onnx.data`` if any)
====== ============================================= ===========================================

plus ``model.json`` and the self-test vectors it names. The folder is rebuilt next to the old
one and swapped in with one rename, so an app never sees a half-installed model and files of a
previously installed model do not linger.

The apps folder is the source tree's ``apps/`` (editable installs) or, for any install, the
folder named by the ``MOBILEGAN_APPS_DIR`` environment variable.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_path

log = logging.getLogger(__name__)

MODEL_CARD = "model.json"
APPS_DIR_ENV = "MOBILEGAN_APPS_DIR"


@dataclass(frozen=True)
class AppTarget:
    """Where one app keeps its model and which artifacts it runs."""

    name: str
    model_dir: tuple[str, ...]  # path parts below apps/
    targets: tuple[str, ...]  # model.json artifact "target" values the app can run
    runtime: str  # for messages


APP_TARGETS: dict[str, AppTarget] = {
    "ios": AppTarget("ios", ("ios", "MobileGAN", "Model"), ("coreml",), "Core ML (.mlpackage)"),
    "android": AppTarget(
        "android", ("android", "app", "src", "main", "assets", "model"), ("executorch", "litert"),
        "ExecuTorch (.pte) or LiteRT (.tflite)"
    ),
    "web": AppTarget("web", ("web", "model"), ("onnx",), "ONNX Runtime Web (.onnx)"),
}


def default_apps_root() -> Path:
    """``$MOBILEGAN_APPS_DIR`` when set, else ``apps/`` of the source tree this package was
    installed from (editable installs; a wheel install has no apps folder)."""
    configured = os.environ.get(APPS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(__file__).resolve().parent.parent / "apps"


def app_model_dir(app: str, *, apps_root: Path | None = None) -> Path:
    """The folder the given app loads its model from."""
    target = app_target(app)
    return (apps_root or default_apps_root()).joinpath(*target.model_dir)


def install_to_app(export_dir: str | Path, app: str, *, apps_root: str | Path | None = None) -> list[Path]:
    """Install the model exported to ``export_dir`` into ``app`` ("ios", "android" or "web").

    Returns the installed paths (artifact files or ``.mlpackage`` folders, ``model.json``,
    self-test vectors), in the app's model folder. Raises :class:`MobileganError` when the
    export folder lacks what the app needs; nothing in the app changes in that case.
    """
    target = app_target(app)
    export_dir = Path(export_dir)
    root = Path(apps_root) if apps_root is not None else default_apps_root()
    if not root.joinpath(target.model_dir[0]).is_dir():
        raise MobileganError(f"app folder {root / target.model_dir[0]} not found: point {APPS_DIR_ENV} "
                             "at a checkout's apps/ folder (or pass apps_root)")
    card = read_model_card(export_dir)
    files = _files_to_copy(card, export_dir, target)
    dest_dir = root.joinpath(*target.model_dir)
    with atomic_path(dest_dir) as tmp:
        tmp.mkdir(parents=True)
        for rel in files:
            _copy(export_dir / rel, tmp / rel)
    installed = [dest_dir / rel for rel in files]
    log.info("installed %d file(s) for the %s app into %s", len(installed), app, dest_dir)
    return installed


def read_model_card(export_dir: Path) -> dict[str, Any]:
    """Parse ``export_dir/model.json`` with one-line errors for a missing or broken file."""
    if not export_dir.is_dir():
        raise MobileganError(f"export folder {export_dir} does not exist")
    path = export_dir / MODEL_CARD
    if not path.is_file():
        raise MobileganError(f"{path} not found: run `mobilegan export` into {export_dir} first")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MobileganError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(card, dict) or not isinstance(card.get("artifacts"), list):
        raise MobileganError(f"{path} has no 'artifacts' list (not a mobilegan model card)")
    return card


def app_target(app: str) -> AppTarget:
    try:
        return APP_TARGETS[app]
    except KeyError:
        raise MobileganError(f"unknown app {app!r}; choose one of: {', '.join(APP_TARGETS)}") from None


def _files_to_copy(card: dict[str, Any], export_dir: Path, target: AppTarget) -> list[str]:
    """Relative paths (artifacts, extras, model.json, self-test vectors) the app needs."""
    artifacts = [a for a in card["artifacts"] if isinstance(a, dict) and a.get("target") in target.targets]
    if not artifacts:
        found = sorted({str(a.get("target")) for a in card["artifacts"] if isinstance(a, dict)})
        raise MobileganError(
            f"{export_dir / MODEL_CARD} lists no {target.runtime} artifact for the {target.name} app "
            f"(found: {', '.join(found) or 'none'}); export with --target {target.targets[0]}"
        )
    if target.name == "ios":
        artifacts = [_ios_artifact(artifacts)]
    files: list[str] = []
    for artifact in artifacts:
        rel = _safe_relative(artifact.get("file"), export_dir)
        if not (export_dir / rel).exists():
            raise MobileganError(f"{export_dir / rel} is listed in model.json but missing")
        files.append(rel)
        sidecar = f"{rel}.data"  # ONNX external weights, when the exporter wrote them
        if (export_dir / sidecar).is_file():
            files.append(sidecar)
    if target.name == "android":
        files.extend(_bundled_programs(card, export_dir))
    files.append(MODEL_CARD)
    files.extend(_selftest_files(card, export_dir))
    return list(dict.fromkeys(files))  # keep order, drop duplicates


def _ios_artifact(artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    """The one Core ML package the iOS app runs: the first without weight compression, else the first."""
    def compressed(artifact: dict[str, Any]) -> bool:
        coreml = artifact.get("coreml")
        return isinstance(coreml, dict) and bool(coreml.get("weight_compression"))

    chosen = next((a for a in artifacts if not compressed(a)), artifacts[0])
    skipped = [str(a.get("file")) for a in artifacts if a is not chosen]
    if skipped:
        log.info("the iOS app loads one Core ML package: installing %s, not %s", chosen.get("file"), ", ".join(skipped))
    return chosen


def _bundled_programs(card: dict[str, Any], export_dir: Path) -> list[str]:
    """``.bpte`` files: an artifact's ``bundled`` entry, an artifact file, or lying in the export folder."""
    listed: list[str] = []
    for artifact in card["artifacts"]:
        if not isinstance(artifact, dict):
            continue
        bundled = artifact.get("bundled")
        if isinstance(bundled, dict):
            listed.append(_safe_relative(bundled.get("file"), export_dir))
        if str(artifact.get("file", "")).endswith(".bpte"):
            listed.append(_safe_relative(artifact.get("file"), export_dir))
    for rel in listed:
        if not (export_dir / rel).is_file():
            raise MobileganError(f"{export_dir / rel} is listed in model.json but missing")
    loose = sorted(p.name for p in export_dir.glob("*.bpte") if p.is_file())
    return listed + [name for name in loose if name not in listed]


def _selftest_files(card: dict[str, Any], export_dir: Path) -> list[str]:
    selftest = card.get("selftest")
    if selftest is None:
        return []
    if not isinstance(selftest, dict):
        raise MobileganError(f"{export_dir / MODEL_CARD}: 'selftest' must be an object")
    inputs, expected = selftest.get("inputs", []), selftest.get("expected", [])
    if not isinstance(inputs, list) or not isinstance(expected, list) or len(inputs) != len(expected):
        raise MobileganError(f"{export_dir / MODEL_CARD}: selftest needs equally long 'inputs' and 'expected' lists")
    rels = [_safe_relative(name, export_dir) for name in [*inputs, *expected]]
    for rel in rels:
        if not (export_dir / rel).is_file():
            raise MobileganError(f"self-test vector {export_dir / rel} is listed in model.json but missing")
    return rels


def _safe_relative(name: Any, export_dir: Path) -> str:
    """A path from model.json, refused unless it stays inside the export folder."""
    if not isinstance(name, str) or not name:
        raise MobileganError(f"{export_dir / MODEL_CARD}: an artifact or self-test entry has no file name")
    path = Path(name)
    if path.is_absolute() or ".." in path.parts:
        raise MobileganError(f"{export_dir / MODEL_CARD}: file {name!r} points outside the export folder")
    return path.as_posix()


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():  # .mlpackage
        shutil.copytree(src, dest)
    else:
        shutil.copyfile(src, dest)
