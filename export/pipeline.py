"""``export_model``: the public function behind ``mobilegan export``.

    checkpoint -> eager generator + images -> every target exports into a staging folder and
    proves parity there -> files move into the output folder -> model.json -> (app install)

Nothing in the output folder changes until every target has written and verified its files:
a failed export (bad parity, an error, Ctrl-C) leaves the previous files as they were.
Each file then moves in with an atomic rename and ``model.json`` is written last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.checkpoints.tf_checkpoint import split_selector
from mobilegan.checkpoints.tf_loader import checkpoint_sha256, is_tf_or_keras
from mobilegan.profile import check_side
from mobilegan.errors import MobileganError
from mobilegan.export.images import CALIB_IMAGES, select_images
from mobilegan.export.model_card import MODEL_CARD, ModelCard, ModelCardError, merge_artifacts, read_card, write_card
from mobilegan.export.parity import ParityError, eager_outputs
from mobilegan.export.selftest import SELFTEST_DIR, write_selftest
from mobilegan.export.targets import ALL, ExportJob, resolve_targets, unchecked_reason
from mobilegan.export.wrap import wrap_for_export
from mobilegan.models.registry import get_config, list_models
from mobilegan.profile import profile_model
from mobilegan.runs import latest_student
from mobilegan.utils.atomic import atomic_path, pid_marker, sweep_stale_temporaries
from mobilegan.utils.sizes import image_size_problem

log = logging.getLogger(__name__)

QUANTIZE_CHOICES = ("int8",)


def resolve_checkpoint(checkpoint: str | os.PathLike[str] | None) -> Path:
    """The given checkpoint, or the student recorded by the last ``mobilegan distill`` here."""
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file() and not is_tf_or_keras(checkpoint):  # TF checkpoints: folders, prefixes, PATH:NAME
            raise MobileganError(f"{path}: no such checkpoint file")
        return path
    latest = latest_student()
    if latest is None:
        raise MobileganError("no CHECKPOINT given and no student recorded in runs/latest.json "
                             "(run `mobilegan distill` here first, or pass a checkpoint path)")
    log.info("no checkpoint given: using the latest distilled student %s", latest)
    return latest


def model_name(config: Any, path: Path) -> str:
    """The registry preset whose config this is, else the checkpoint's file stem."""
    for name in list_models("generator"):
        if get_config(name) == config:
            return name
    file, picked = split_selector(path)  # a TF/Keras PATH:NAME picks one model of a file
    return f"{file.stem}_{picked}" if picked else path.stem


def _card_source(loaded: Any, path: Path, images: str) -> dict[str, Any]:
    """Where the exported model came from. A TensorFlow/Keras teacher takes NHWC images in [-1, 1] in its
    own framework; the card says so next to what the artifacts take (``artifacts[].input``: NCHW, [0, 1])."""
    source: dict[str, Any] = {"checkpoint": str(path), "sha256": checkpoint_sha256(path), "layout": loaded.layout,
                              "images": images}
    foreign = loaded.meta.get("foreign")
    if isinstance(foreign, dict):
        source["framework_io"] = {"layout": foreign.get("framework_layout"), "range": foreign.get("input_range"),
                                  "note": "converted once at load: the artifacts take artifacts[].input"}
    if loaded.meta.get("teacher_layout"):
        source["teacher_layout"] = loaded.meta["teacher_layout"]
    return source


def _check_args(size: int, quantize: str | None) -> None:
    if problem := image_size_problem(size):
        raise MobileganError(problem)
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise MobileganError(f"unknown --quantize {quantize!r}; choose: {', '.join(QUANTIZE_CHOICES)}")


def _previous_card(out_dir: Path) -> ModelCard | None:
    if not (out_dir / MODEL_CARD).exists():
        return None
    try:
        return read_card(out_dir)
    except ModelCardError as exc:
        log.warning("ignoring the previous %s: %s", MODEL_CARD, exc)
        return None


def _check_app_targets(app: str, chosen: list[str], out_dir: Path) -> None:
    """Fail before exporting when ``--app`` cannot be served by this export (or one already in ``out_dir``)."""
    from mobilegan.export.app_install import app_target

    target = app_target(app)
    previous = _previous_card(out_dir) if out_dir.is_dir() else None
    have = set(chosen) | {a.get("target") for a in (previous.to_dict()["artifacts"] if previous else [])}
    if not have & set(target.targets):
        raise MobileganError(f"--app {app} runs {target.runtime}, which this export does not produce; "
                             f"add --target {target.targets[0]}")


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise read-card / move-files / write-card of exports running at once into ``folder``.

    An advisory ``flock`` on the folder itself (no lock file to leave behind); released when the
    descriptor closes, also when the process dies. Without ``fcntl`` (Windows) each file is
    still replaced atomically, but two concurrent exports may each drop the other's card entry.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _staged_files(staging: Path) -> list[Path]:
    return sorted(p for p in staging.rglob("*") if p.is_file() and not p.name.startswith("."))


def _commit(staging: Path, out_dir: Path) -> None:
    """Move every staged file to the same relative path in ``out_dir``, each atomically."""
    for src in _staged_files(staging):
        rel = src.relative_to(staging)
        with atomic_path(out_dir / rel) as tmp:
            os.replace(src, tmp)


def export_model(
    checkpoint: str | os.PathLike[str] | None,
    *,
    targets: Sequence[str],
    out_dir: str | os.PathLike[str],
    size: int = 256,
    quantize: str | None = None,
    calib_data: str | os.PathLike[str] | None = None,
    bundled: bool = False,
    verify: bool = True,
    dynamic_size: bool = False,
    app: str | None = None,
    target_options: dict[str, Any] | None = None,
    calib_images: int = CALIB_IMAGES,
) -> ModelCard:
    """Export a generator checkpoint to every target in ``targets`` and write ``model.json``."""
    _check_args(size, quantize)
    if calib_images < 1:
        raise MobileganError(f"calib_images must be >= 1, got {calib_images}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise MobileganError(f"--out {out_dir}: exists and is not a folder")
    chosen = resolve_targets(targets)
    if ALL in targets and quantize is None:
        quantize = "int8"  # `all` means all: fp32 and int8 ExecuTorch and LiteRT, ONNX, Core ML
        log.debug("--target all: int8 ExecuTorch too")
    if app is not None:
        _check_app_targets(app, [t.name for t in chosen], Path(out_dir))
    path = resolve_checkpoint(checkpoint)
    loaded = load_generator_checkpoint(path)
    generator = loaded.model.eval()
    hw = (size, size)
    check_side(generator, *hw)  # a U-Net takes multiples of 2**levels only
    calib_dir = Path(calib_data) if calib_data is not None else None
    images = select_images(calib_data=calib_dir, meta=loaded.meta, size=hw,
                           n_calib=calib_images)
    reference = wrap_for_export(generator)
    expected = eager_outputs(reference, images.test)
    name = model_name(loaded.config, path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    sweep_stale_temporaries(out, ".export-")  # staging folders of exports that were killed
    staging = Path(tempfile.mkdtemp(prefix=f".export-{pid_marker()}-", suffix=".tmp", dir=out))
    try:
        job = ExportJob(name=name, generator=generator, reference=reference, size=hw, staging=staging,
                        calib=images.calib, test_inputs=images.test, expected=expected, quantize=quantize,
                        bundled=bundled, verify=verify, dynamic_size=dynamic_size,
                        options=dict(target_options or {}))
        artifacts: list[dict[str, Any]] = []
        for target in chosen:
            log.info("exporting %s -> %s", name, target.name)
            try:
                made = target.export(job)
            except ParityError as exc:
                raise ParityError(f"{exc}; the files in {out} were left as they were", precision=exc.precision) from None
            for artifact in made:
                if not artifact.get("parity"):
                    artifact["unchecked"] = unchecked_reason(job, target)
            artifacts.extend(made)
        selftest = write_selftest(staging, images.test, expected)
        prof = profile_model(generator, size)
        card = ModelCard(
            name=name, source=_card_source(loaded, path, images.source),
            config=loaded.config.to_dict(), params=prof.params, macs=prof.macs, macs_compat=prof.macs_compat,
            size=hw, artifacts=tuple(artifacts), selftest=selftest,
        )
        with _folder_lock(out):  # another export into `out` may have finished meanwhile: merge its card
            card = merge_artifacts(_previous_card(out), card)
            _commit(staging, out)
            write_card(out, card)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.debug("wrote %s (%d artifact(s)) to %s", MODEL_CARD, len(card.artifacts), out)  # the CLI prints the summary
    if app is not None:
        install_app(out, app)
    return card


def install_app(out_dir: Path, app: str) -> list[Path]:
    """Copy the export into a sample app (the apps engineer's ``app_install``)."""
    try:
        from mobilegan.export.app_install import install_to_app
    except ImportError as exc:
        raise MobileganError(f"--app needs mobilegan.export.app_install, which is not available ({exc})") from None
    return install_to_app(out_dir, app)


__all__ = ["QUANTIZE_CHOICES", "SELFTEST_DIR", "export_model", "install_app", "model_name", "resolve_checkpoint"]
