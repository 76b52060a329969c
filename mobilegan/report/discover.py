"""Find what a run folder holds: training logs, evaluations, export folders, bench results, demo summaries.

One walk over the folder (a few levels deep, hidden folders, virtual environments and
``.mlpackage`` bundles skipped); each kind of output is recognised by a small rule, so new
kinds are one more entry in :data:`RULES`, not another branch.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAX_DEPTH = 5  # folder levels below the run folder
MAX_JSON_BYTES = 32 * 1024 * 1024
BENCH_SCHEMA = "mobilegan.bench/1"
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "tensorboard", "selftest"})
SKIP_SUFFIXES = (".mlpackage", ".mlmodelc", ".egg-info")


def _json_schema(path: Path) -> object:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc.get("schema") if isinstance(doc, dict) else None


def is_bench_file(path: Path) -> bool:
    return path.suffix == ".json" and _json_schema(path) == BENCH_SCHEMA


@dataclass(frozen=True)
class Rule:
    kind: str
    matches: Callable[[Path], bool]


RULES: tuple[Rule, ...] = (
    Rule("demo", lambda p: p.name == "demo.json"),
    Rule("training", lambda p: p.name == "metrics.jsonl"),
    Rule("eval", lambda p: p.name == "eval.json"),
    Rule("export", lambda p: p.name == "model.json"),
    Rule("bench", lambda p: p.name not in ("demo.json", "eval.json", "model.json") and is_bench_file(p)),
)


@dataclass(frozen=True)
class Inventory:
    root: Path
    found: dict[str, tuple[Path, ...]] = field(default_factory=dict)

    def get(self, kind: str) -> tuple[Path, ...]:
        return self.found.get(kind, ())

    def __len__(self) -> int:
        return sum(len(v) for v in self.found.values())


def walk(root: Path, max_depth: int = MAX_DEPTH) -> Iterator[Path]:
    """Files under ``root``, breadth by folder, in sorted order, no deeper than ``max_depth`` levels."""

    def on_error(exc: OSError) -> None:
        log.warning("report: cannot list %s (%s)", exc.filename, exc.strerror)

    root_depth = len(root.parts)
    for folder, dirs, files in os.walk(root, onerror=on_error):
        here = Path(folder)
        depth = len(here.parts) - root_depth
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                         and not d.endswith(SKIP_SUFFIXES) and depth < max_depth)
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def discover(root: Path, *, max_depth: int = MAX_DEPTH) -> Inventory:
    found: dict[str, list[Path]] = {rule.kind: [] for rule in RULES}
    for path in walk(root, max_depth):
        if path.suffix not in (".json", ".jsonl"):
            continue
        for rule in RULES:
            if rule.matches(path):
                found[rule.kind].append(path)
                break
    return Inventory(root=root, found={k: tuple(v) for k, v in found.items() if v})
