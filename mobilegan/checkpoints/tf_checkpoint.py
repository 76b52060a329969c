"""TensorFlow object-based checkpoints (``tf.train.Checkpoint`` / Keras ``save_weights`` in TF format).

Accepted paths: a checkpoint folder (its ``checkpoint`` file names the latest), ``ckpt-N``,
``ckpt-N.index`` or ``ckpt-N.data-00000-of-00001``, a SavedModel folder (its ``variables/`` bundle;
``saved_model.pb``, the graph, is never read). A checkpoint usually holds several models
(the TF CycleGAN tutorial: ``generator_g``, ``generator_f``, ``discriminator_x``,
``discriminator_y`` and their optimizers); append ``:NAME`` to the path to pick one
(``ckpt-5:generator_f``), else the first generator-looking one is taken and the log says how
to pick the others.

The model's layers are found by walking the checkpoint's object graph, which both Keras 2
(``layer_with_weights-K``) and Keras 3 (``_operations/K/_functional/...``) write.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from mobilegan.checkpoints.foreign_tree import ForeignLayer, ForeignModel, natural_key
from mobilegan.checkpoints.tf_bundle import TensorBundle
from mobilegan.errors import CheckpointError

_DATA = re.compile(r"\.data-\d{5}-of-\d{5}$")
_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_VALUE = "VARIABLE_VALUE"
_GENERIC = re.compile(r"^(layer|layer_with_weights)-\d+$")
# Keras 3 bookkeeping children that are not layers.
_NOT_LAYERS = {"_tracked", "_inbound_nodes", "_outbound_nodes", "_losses", "_losses_override",
               "call_signature_parameters", "_call_has_context_arg", "_seed_generator", "seed_generator",
               "_self_saveable_object_factories", "keras_api", "_metrics", "_compile_metrics", "_loss_tracker",
               # SavedModel bookkeeping (lists of the same variables, traced functions)
               "variables", "trainable_variables", "non_trainable_variables", "regularization_losses",
               "__call__", "call_and_return_all_conditional_losses", "call_and_return_conditional_losses",
               "_default_save_signature", "signatures", "_jit_compiled_convolution_op"}
_OPTIMIZER_MARKS = {"_iterations", "iter", "iterations", "_learning_rate", "learning_rate"}
# Names under which CycleGAN code keeps its A->B generator, most preferred first.
PREFERRED = ("generator_g", "gen_g", "g_ab", "g_a", "netg_a", "generator_a", "generator_ab", "generator", "g")


def split_selector(spec: str | Path) -> tuple[Path, str | None]:
    """``"run/ckpt-5:generator_f"`` -> ``(Path("run/ckpt-5"), "generator_f")``."""
    text = str(spec)
    if Path(text).exists() or ":" not in text:
        return Path(text), None
    head, _, tail = text.rpartition(":")
    if head and _SELECTOR.fullmatch(tail) and not re.fullmatch(r"[A-Za-z]", head):
        return Path(head), tail
    return Path(text), None


def _saved_model_variables(folder: Path) -> Path | None:
    """A SavedModel folder (Keras 2 ``model.save`` / ``ModelCheckpoint`` without ``save_weights_only``)
    keeps its weights in ``variables/variables.index`` + ``.data-*``: the same bundle format."""
    prefix = folder / "variables" / "variables"
    return prefix if Path(f"{prefix}.index").is_file() else None


def looks_like_tf_checkpoint(path: Path) -> bool:
    """Whether ``path`` (without a ``:NAME`` selector) names a TF checkpoint bundle or folder."""
    if path.is_dir():
        return (path / "checkpoint").is_file() or any(path.glob("*.index")) or _saved_model_variables(path) is not None
    name = path.name
    if name.endswith(".index") or _DATA.search(name):
        return True
    return not path.exists() and (Path(f"{path}.index").exists() or any(path.parent.glob(f"{name}.data-*")))


def _latest_in_folder(folder: Path) -> Path:
    state = folder / "checkpoint"
    if state.is_file():
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', state.read_text(errors="replace"), re.M)
        if match:
            # A text-format proto string: C escapes (\\ooo for non-ASCII bytes).
            named = Path(codecs.escape_decode(match.group(1).encode("utf-8"))[0].decode("utf-8", "replace"))
            for candidate in (named if named.is_absolute() else folder / named, folder / named.name):
                if Path(f"{candidate}.index").exists() or any(candidate.parent.glob(f"{candidate.name}.data-*")):
                    return candidate
            raise CheckpointError(
                f"{state}: names {match.group(1)!r} as the latest checkpoint, but {named.name}.index is not in {folder}"
            )
    indexes = sorted(folder.glob("*.index"), key=lambda p: natural_key(p.name))
    if not indexes:
        raise CheckpointError(f"{folder}: no TensorFlow checkpoint here (no 'checkpoint' file, no *.index)")
    return indexes[-1].with_suffix("")


def resolve_prefix(path: Path) -> Path:
    """The bundle prefix (``.../ckpt-5``) that ``path`` refers to."""
    if path.is_dir():
        prefix = _saved_model_variables(path) or _latest_in_folder(path)
    elif path.name.endswith(".index"):
        prefix = path.with_suffix("")
    elif _DATA.search(path.name):
        prefix = path.with_name(_DATA.sub("", path.name))
    else:
        prefix = path
    if not Path(f"{prefix}.index").exists():
        if any(prefix.parent.glob(f"{prefix.name}.data-*")):
            raise CheckpointError(
                f"{prefix}.index: missing (a half-written or half-copied checkpoint: the .index file is written last)"
            )
        raise CheckpointError(f"{path}: no such TensorFlow checkpoint ({prefix.name}.index not found)")
    return prefix


class _Graph:
    def __init__(self, bundle: TensorBundle, nodes: list[dict[str, Any]]) -> None:
        self.bundle = bundle
        self.nodes = nodes

    def children(self, node_id: int) -> list[tuple[str, int]]:
        return self.nodes[node_id]["children"]

    def is_variable(self, node_id: int) -> bool:
        return any(name == _VALUE for name in self.nodes[node_id]["attributes"])

    def is_optimizer(self, node_id: int) -> bool:
        return any(name in _OPTIMIZER_MARKS for name, _ in self.children(node_id))

    def layer_children(self, node_id: int) -> list[tuple[str, int]]:
        """Sub-layers of a layer/model node, in model order (Keras 3 or Keras 2 object graphs)."""
        kids = [(name, cid) for name, cid in self.children(node_id) if not self.is_variable(cid)]
        names = {name: cid for name, cid in kids}
        if "_operations" in names:  # Keras 3 Functional
            return sorted(self.children(names["_operations"]), key=lambda kid: natural_key(kid[0]))
        if "_functional" in names:  # Keras 3 Sequential
            return [("_functional", names["_functional"])]
        weighted = [kid for kid in kids if kid[0].startswith("layer_with_weights-")]
        if weighted:  # Keras 2 Functional / Sequential: only layers that own weights matter
            return sorted(weighted, key=lambda kid: natural_key(kid[0]))
        if "_layers" in names:
            return sorted(self.children(names["_layers"]), key=lambda kid: natural_key(kid[0]))
        return [kid for kid in kids if kid[0] not in _NOT_LAYERS and not _GENERIC.match(kid[0])]

    def layer(self, name: str, node_id: int, seen: set[int]) -> ForeignLayer:
        seen.add(node_id)
        out = ForeignLayer(name=name)
        for child_name, cid in self.children(node_id):
            if self.is_variable(cid) and child_name not in _NOT_LAYERS:
                key = self.nodes[cid]["attributes"][_VALUE]
                out.weights[child_name.lstrip("_")] = self.bundle.tensor(key)
        for child_name, cid in self.layer_children(node_id):
            if cid in seen or self.is_optimizer(cid):
                continue
            child = self.layer(child_name, cid, seen)
            if child.weights or child.children:
                out.children.append(child)
        return out

    def models(self) -> dict[str, int]:
        """Named sub-models of the root (generators, discriminators), optimizers and counters left out."""
        found: dict[int, str] = {}
        for name, cid in self.children(0):
            if cid == 0 or self.is_variable(cid) or self.is_optimizer(cid) or name in _NOT_LAYERS:
                continue
            if not self.layer_children(cid):
                continue
            if cid not in found or _GENERIC.match(found[cid]):
                found[cid] = name
        return {name: cid for cid, name in found.items() if not _GENERIC.match(name)}


def _default(names: list[str]) -> str:
    lowered = {name.lower(): name for name in names}
    for wanted in PREFERRED:
        if wanted in lowered:
            return lowered[wanted]
    return sorted(names, key=natural_key)[0]


def read_tf_checkpoint(spec: str | Path) -> ForeignModel:
    """One model of a TF checkpoint as a :class:`ForeignModel` (``spec`` may end in ``:NAME``)."""
    path, selector = split_selector(spec)
    prefix = resolve_prefix(path)
    bundle = TensorBundle(prefix)
    nodes = bundle.object_graph()
    if nodes is None:
        raise CheckpointError(
            f"{prefix}: a name-based (TF1 / Estimator) checkpoint without an object graph; "
            "only object-based checkpoints (tf.train.Checkpoint, Keras save_weights) are supported"
        )
    try:
        return _pick(_Graph(bundle, nodes), prefix, selector)
    except (IndexError, KeyError, RecursionError) as exc:  # node ids or nesting a real checkpoint never has
        raise CheckpointError(f"{prefix}: corrupt object graph ({type(exc).__name__})") from None


def _pick(graph: _Graph, prefix: Path, selector: str | None) -> ForeignModel:
    models = graph.models()
    top_names = [name for name, _ in graph.children(0)]
    if not models:
        root_has_layers = any(not graph.is_variable(cid) and not graph.is_optimizer(cid) and
                              (name.startswith("layer") or name in ("_operations", "_functional"))
                              for name, cid in graph.children(0))
        if root_has_layers:  # the checkpoint root is the model itself (model.save_weights in TF format)
            if selector:
                raise CheckpointError(f"{prefix}: holds a single model; drop ':{selector}'")
            return ForeignModel("tf_checkpoint", str(prefix), "", graph.layer("", 0, set()))
        optimizers = [name for name, cid in graph.children(0) if graph.is_optimizer(cid)]
        if optimizers:
            raise CheckpointError(
                f"{prefix}: holds only optimizer state ({', '.join(optimizers)}), no model; "
                "save the generator in the checkpoint too (tf.train.Checkpoint(generator_g=..., ...))"
            )
        raise CheckpointError(f"{prefix}: no model in this checkpoint (top-level objects: {', '.join(top_names) or 'none'})")
    if selector is not None and selector not in models:
        raise CheckpointError(f"{prefix}: no model named {selector!r}; it holds {', '.join(sorted(models, key=natural_key))}")
    name = selector or _default(list(models))
    root = graph.layer(name, models[name], set())
    siblings = tuple(sorted((n for n in models if n != name), key=natural_key))
    return ForeignModel("tf_checkpoint", str(prefix), name, root, siblings=siblings)
