"""``model.json``: the export model card (docs/model-json.md, schema version 2).

The one writer and reader of the card. Apps and tools read the same file, so everything
written here is checked against the schema first (:func:`validate_card`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_write_text
from mobilegan.version import __version__

SCHEMA_VERSION = 2  # 2: per-artifact ``selftest_min_psnr_db`` replaces ``selftest.min_psnr_db``
MODEL_CARD = "model.json"
TARGETS = ("executorch", "onnx", "coreml", "executorch-coreml", "litert")
PRECISIONS = ("fp32", "int8", "fp16")
_TOP_KEYS = ("schema_version", "name", "mobilegan_version", "created", "source", "config", "params", "macs",
             "macs_compat", "size", "artifacts")
_ARTIFACT_KEYS = ("target", "file", "precision", "sha256", "bytes", "input", "output", "exporter")
_IO_KEYS = ("name", "shape", "layout", "dtype", "range")
SELFTEST_THRESHOLD = "selftest_min_psnr_db"  # per artifact, since schema version 2


class ModelCardError(MobileganError):
    """A ``model.json`` that does not follow the schema."""


def io_spec(name: str, shape: Sequence[int], *, layout: str = "NCHW", dtype: str = "float32",
            value_range: tuple[float, float] = (0, 1),
            quantization: tuple[float, int] | None = None) -> dict[str, Any]:
    """The ``input`` / ``output`` entry of an artifact; ``quantization`` (scale, zero point) for an
    integer tensor whose value in ``range`` is ``(q - zero_point) * scale`` (LiteRT int8 files)."""
    spec: dict[str, Any] = {"name": name, "shape": [int(s) for s in shape], "layout": layout, "dtype": dtype,
                            "range": [value_range[0], value_range[1]]}
    if quantization is not None:
        spec["quantization"] = {"scale": float(quantization[0]), "zero_point": int(quantization[1])}
    return spec


def make_artifact(*, target: str, file: str, precision: str, sha256: str, size_bytes: int,
                  input_spec: dict[str, Any], output_spec: dict[str, Any], exporter: dict[str, str],
                  delegation: dict[str, Any] | None = None, parity: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """One ``artifacts[]`` entry; ``extra`` keys (e.g. ``bundled``, ``dynamic_hw``) are kept."""
    artifact = {"target": target, "file": file, "precision": precision, "sha256": sha256, "bytes": int(size_bytes),
                "input": input_spec, "output": output_spec, "delegation": delegation, "parity": parity,
                "exporter": exporter}
    artifact.update(extra)
    return artifact


@dataclass(frozen=True)
class ModelCard:
    name: str
    source: dict[str, Any]
    config: dict[str, Any]
    params: int
    macs: int
    macs_compat: int
    size: tuple[int, int]
    artifacts: tuple[dict[str, Any], ...] = ()
    selftest: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    mobilegan_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": self.schema_version, "name": self.name, "mobilegan_version": self.mobilegan_version,
            "created": self.created, "source": self.source, "config": self.config, "params": self.params,
            "macs": self.macs, "macs_compat": self.macs_compat, "size": list(self.size),
            "artifacts": [with_selftest_threshold(a) for a in self.artifacts],
        }
        if self.selftest is not None:
            out["selftest"] = self.selftest
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = MODEL_CARD) -> "ModelCard":
        validate_card(data, where=where)
        return cls(name=data["name"], source=data["source"], config=data["config"], params=data["params"],
                   macs=data["macs"], macs_compat=data["macs_compat"], size=(data["size"][0], data["size"][1]),
                   artifacts=tuple(data["artifacts"]), selftest=data.get("selftest"), created=data["created"],
                   mobilegan_version=data["mobilegan_version"], schema_version=data["schema_version"])

    def artifact(self, file: str) -> dict[str, Any] | None:
        return next((a for a in self.artifacts if a.get("file") == file), None)


def with_selftest_threshold(artifact: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``artifact`` carrying the PSNR its on-device self-test must reach, always derived
    afresh from its precision and I/O (``selftest.selftest_threshold_db``), so no card keeps a stale one."""
    from mobilegan.export.selftest import selftest_threshold_db  # selftest imports torch: only when writing

    out = dict(artifact)
    if out.get("precision") in PRECISIONS:
        out[SELFTEST_THRESHOLD] = selftest_threshold_db(out)
    return out


def _need(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ModelCardError(f"{where}: {message}")


def _check_io(spec: Any, where: str) -> None:
    _need(isinstance(spec, dict), where, "must be an object")
    missing = [k for k in _IO_KEYS if k not in spec]
    _need(not missing, where, f"missing {', '.join(missing)}")
    _need(isinstance(spec["shape"], list) and all(isinstance(s, int) for s in spec["shape"]), where,
          "shape must be a list of integers")
    _need(isinstance(spec["range"], list) and len(spec["range"]) == 2, where, "range must be [lo, hi]")


def validate_card(data: Any, *, where: str = MODEL_CARD) -> None:
    """Raise :class:`ModelCardError` naming the first field that breaks the schema."""
    _need(isinstance(data, dict), where, "not a JSON object")
    version = data.get("schema_version")
    _need(isinstance(version, int), where, "missing schema_version")
    _need(version <= SCHEMA_VERSION, where,
          f"schema_version {version} is newer than this mobilegan understands ({SCHEMA_VERSION}); upgrade mobilegan")
    missing = [k for k in _TOP_KEYS if k not in data]
    _need(not missing, where, f"missing field(s) {', '.join(missing)}")
    _need(isinstance(data["size"], list) and len(data["size"]) == 2, where, "size must be [H, W]")
    for key in ("params", "macs", "macs_compat"):
        _need(isinstance(data[key], int) and data[key] >= 0, where, f"{key} must be a non-negative integer")
    _need(isinstance(data["source"], dict) and "sha256" in data["source"], where, "source needs checkpoint and sha256")
    _need(isinstance(data["artifacts"], list), where, "artifacts must be a list")
    for i, art in enumerate(data["artifacts"]):
        at = f"{where}: artifacts[{i}]"
        _need(isinstance(art, dict), at, "must be an object")
        missing = [k for k in _ARTIFACT_KEYS if k not in art]
        _need(not missing, at, f"missing {', '.join(missing)}")
        _need(art["target"] in TARGETS, at, f"unknown target {art['target']!r}")
        _need(art["precision"] in PRECISIONS, at, f"unknown precision {art['precision']!r}")
        _need(isinstance(art["file"], str) and not os.path.isabs(art["file"]) and ".." not in Path(art["file"]).parts,
              at, "file must be a path inside the folder")
        _check_io(art["input"], f"{at}.input")
        _check_io(art["output"], f"{at}.output")
        if version >= 2:
            threshold = art.get(SELFTEST_THRESHOLD)
            _need(isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > 0, at,
                  f"{SELFTEST_THRESHOLD} must be a positive number (schema version 2)")
    selftest = data.get("selftest")
    if selftest is not None:
        _need(isinstance(selftest, dict), where, "selftest must be an object")
        _need(len(selftest.get("inputs", [])) == len(selftest.get("expected", [])) > 0, where,
              "selftest needs equally long, non-empty inputs and expected lists")


def read_card(folder: str | os.PathLike[str]) -> ModelCard:
    path = Path(folder) / MODEL_CARD
    if not path.is_file():
        raise ModelCardError(f"{path}: no model card (export into this folder first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelCardError(f"{path}: not readable JSON ({exc})") from None
    return ModelCard.from_dict(data, where=str(path))


def write_card(folder: str | os.PathLike[str], card: ModelCard) -> Path:
    data = card.to_dict()
    validate_card(data, where="new model card")
    return atomic_write_text(Path(folder) / MODEL_CARD, json.dumps(data, indent=2) + "\n")


def merge_artifacts(old: ModelCard | None, new: ModelCard) -> ModelCard:
    """Keep the previous card's artifacts that the new export did not replace, when they come
    from the same checkpoint at the same size (so ``--target onnx`` after ``--target executorch``
    lists both); artifacts of another model are dropped."""
    if old is None or old.source.get("sha256") != new.source.get("sha256") or tuple(old.size) != tuple(new.size):
        return new
    files = {a["file"] for a in new.artifacts}
    kept = tuple(a for a in old.artifacts if a["file"] not in files)
    return ModelCard(**{**new.__dict__, "artifacts": kept + new.artifacts})
