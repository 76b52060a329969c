"""Keras weight files read with h5py and zipfile only (Keras itself is never imported).

* ``.weights.h5`` (Keras 3 ``save_weights``): ``layers/<class>_<k>/vars/<i>`` groups, nested
  models below their attribute name (``gen_G/layers/conv2d_3/vars/0`` for the keras.io CycleGAN,
  which saves its whole ``CycleGan`` model). Layer names are the class in snake case plus a
  per-container counter, so the order is exact within a class; the file holds no config.
* ``.keras`` (Keras 3 ``model.save``): a zip with ``config.json`` (classes, order, norm groups,
  epsilons) and ``model.weights.h5`` in the layout above.
* legacy ``.h5`` (Keras 2 ``save`` / ``save_weights``, Keras 3 ``save("x.h5")``): one group per
  layer in ``layer_names`` order, datasets listed by the ``weight_names`` attribute
  (``conv2d/kernel:0``), under ``model_weights/`` for a full model, whose JSON ``model_config``
  gives the classes and configs.

Pick a sub-model with ``path:NAME`` (``cyclegan.weights.h5:gen_F``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mobilegan.checkpoints.foreign_tree import ForeignLayer, ForeignModel, kind_and_index, natural_key
from mobilegan.checkpoints.tf_checkpoint import PREFERRED, split_selector
from mobilegan.errors import CheckpointError

KERAS_SUFFIXES = (".weights.h5", ".keras", ".h5", ".hdf5")


def is_keras_path(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in KERAS_SUFFIXES)


def snake_case(class_name: str) -> str:
    """Keras' own class -> file name rule (``Conv2DTranspose`` -> ``conv2d_transpose``)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise CheckpointError("reading Keras .h5/.keras files needs h5py: pip install h5py") from None
    return h5py


# --- Keras 3 layout ---------------------------------------------------------------------------------


def _k3_vars(group: Any) -> dict[str, np.ndarray]:
    if "vars" not in group:
        return {}
    items = sorted(group["vars"].items(), key=lambda kv: natural_key(kv[0]))
    return {name: np.asarray(ds[()], dtype=np.float32) for name, ds in items if hasattr(ds, "shape")}


def _k3_layer(name: str, group: Any, config: dict[str, Any] | None) -> ForeignLayer:
    kind = snake_case(config["class_name"]) if config else kind_and_index(name)[0]
    layer = ForeignLayer(name=name, kind=kind, weights=_k3_vars(group), config=dict((config or {}).get("config", {})))
    if "layers" in group:
        layer.children = _k3_children(group["layers"], _sub_configs(config))
    return layer


def _sub_configs(config: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if not config:
        return None
    inner = config.get("config", {})
    layers = inner.get("layers")
    return layers if isinstance(layers, list) else None


def _k3_children(group: Any, configs: list[dict[str, Any]] | None) -> list[ForeignLayer]:
    names = list(group.keys())
    if configs is None:  # .weights.h5: per-class order only
        ordered = sorted(names, key=lambda n: (kind_and_index(n)[0], kind_and_index(n)[1]))
        return [_k3_layer(n, group[n], None) for n in ordered]
    out, used = [], {}
    for cfg in configs:  # the saver's own naming: class in snake case + per-container counter
        base = snake_case(str(cfg.get("class_name", "")))
        count = used.get(base, -1) + 1
        used[base] = count
        name = base if count == 0 else f"{base}_{count}"
        if name in group:
            out.append(_k3_layer(name, group[name], cfg))
    return out


def _is_k3_model(group: Any) -> bool:
    return "layers" in group


def _read_k3(h5: Any, path: Path, selector: str | None, source: str, config: dict[str, Any] | None) -> ForeignModel:
    if _is_k3_model(h5):
        if selector:
            raise CheckpointError(f"{path}: holds a single model; drop ':{selector}'")
        root = ForeignLayer(name="", kind=snake_case(config["class_name"]) if config else None)
        root.children = _k3_children(h5["layers"], _sub_configs(config))
        return ForeignModel(source, str(path), "", root, exact_order=config is not None)
    models = {name: group for name, group in h5.items() if hasattr(group, "keys") and _is_k3_model(group)}
    if not models:
        optimizers = [name for name in h5.keys() if "optimizer" in name.lower()]
        if optimizers:
            raise CheckpointError(f"{path}: holds only optimizer state ({', '.join(optimizers)}), no model weights")
        raise CheckpointError(f"{path}: no Keras model weights in this file (top-level groups: {', '.join(list(h5.keys())[:6]) or 'none'})")
    if selector is not None and selector not in models:
        raise CheckpointError(f"{path}: no model named {selector!r}; it holds {', '.join(sorted(models, key=natural_key))}")
    name = selector or _preferred(list(models))
    root = ForeignLayer(name=name)
    root.children = _k3_children(models[name]["layers"], None)
    siblings = tuple(sorted((n for n in models if n != name), key=natural_key))
    return ForeignModel(source, str(path), name, root, siblings=siblings, exact_order=False)


def _preferred(names: list[str]) -> str:
    lowered = {n.lower(): n for n in names}
    for wanted in PREFERRED:
        if wanted in lowered:
            return lowered[wanted]
    gens = [n for n in names if n.lower().startswith("gen")]
    return sorted(gens or names, key=natural_key)[0]


# --- legacy (Keras 2) layout ------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _legacy_configs(model_config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Layer name -> its config dict, nested models included."""
    out: dict[str, dict[str, Any]] = {}

    def visit(cfg: dict[str, Any]) -> None:
        inner = cfg.get("config", {})
        if isinstance(inner, dict) and "name" in inner:
            out.setdefault(str(inner["name"]), cfg)
        for sub in (inner.get("layers") or []) if isinstance(inner, dict) else []:
            if isinstance(sub, dict):
                visit(sub)

    if model_config:
        visit(model_config)
    return out


def _read_legacy(h5: Any, path: Path, selector: str | None) -> ForeignModel:
    group = h5["model_weights"] if "model_weights" in h5 else h5
    raw_config = h5.attrs.get("model_config")
    model_config = json.loads(_text(raw_config)) if raw_config is not None else None
    configs = _legacy_configs(model_config)
    root = ForeignLayer(name="", kind=snake_case(model_config["class_name"]) if model_config else None)
    for layer_name in (_text(n) for n in group.attrs["layer_names"]):
        layer_group = group[layer_name]
        weight_names = [_text(n) for n in layer_group.attrs.get("weight_names", [])]
        if not weight_names:
            continue
        top = _legacy_layer(layer_name, configs)
        for weight_name in weight_names:
            parts = weight_name.split(":")[0].split("/")
            holder = top if len(parts) < 2 or parts[-2] == layer_name else _child(top, parts[-2], configs)
            holder.weights[parts[-1]] = np.asarray(layer_group[weight_name][()], dtype=np.float32)
        root.children.append(top)
    if selector:
        models = {child.name: child for child in root.children if child.children}
        if selector not in models:
            raise CheckpointError(f"{path}: no model named {selector!r}; it holds {', '.join(models) or 'one model'}")
        return ForeignModel("keras_legacy_h5", str(path), selector, models[selector])
    return ForeignModel("keras_legacy_h5", str(path), "", root)


def _legacy_layer(name: str, configs: dict[str, dict[str, Any]]) -> ForeignLayer:
    cfg = configs.get(name)
    kind = snake_case(cfg["class_name"]) if cfg else kind_and_index(name)[0]
    return ForeignLayer(name=name, kind=kind, config=dict((cfg or {}).get("config", {})))


def _child(parent: ForeignLayer, name: str, configs: dict[str, dict[str, Any]]) -> ForeignLayer:
    for child in parent.children:
        if child.name == name:
            return child
    child = _legacy_layer(name, configs)
    parent.children.append(child)
    return child


# --- entry point ---------------------------------------------------------------------------------------


def read_keras_file(spec: str | Path) -> ForeignModel:
    """One model of a Keras ``.weights.h5`` / ``.keras`` / legacy ``.h5`` file (``spec`` may end in ``:NAME``)."""
    path, selector = split_selector(spec)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file (an interrupted download or save?)")
    h5py = _h5py()
    if path.name.lower().endswith(".keras") or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "model.weights.h5" not in names:
                    raise CheckpointError(f"{path}: not a Keras 3 .keras archive (no model.weights.h5 inside)")
                config = json.loads(archive.read("config.json")) if "config.json" in names else None
                blob = archive.read("model.weights.h5")
        except (zipfile.BadZipFile, json.JSONDecodeError, OSError) as exc:
            raise CheckpointError(f"{path}: not a readable .keras archive ({exc})") from None
        try:
            with h5py.File(io.BytesIO(blob), "r") as h5:
                return _read_k3(h5, path, selector, "keras_zip", config if isinstance(config, dict) else None)
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise CheckpointError(f"{path}: unexpected .keras content ({str(exc)[:120]})") from None
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path}: not a readable HDF5 file (truncated or not Keras weights?): {str(exc)[:120]}") from None
    with h5:
        legacy = "layer_names" in h5.attrs or ("model_weights" in h5 and "layer_names" in h5["model_weights"].attrs)
        try:
            if legacy:
                return _read_legacy(h5, path, selector)
            return _read_k3(h5, path, selector, "keras_weights_h5", None)
        except (KeyError, ValueError, TypeError, OSError, AttributeError) as exc:
            raise CheckpointError(f"{path}: unexpected Keras file layout ({str(exc)[:120]})") from None
