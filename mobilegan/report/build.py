"""``build_report``: discover what a run folder holds and write one self-contained ``report.html``."""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mobilegan.utils.progress import progress_bar

from mobilegan.errors import MobileganError
from mobilegan.report import section_bench, section_demo, section_export, section_runs
from mobilegan.report.common import RenderContext, Rendered, as_dict, read_json
from mobilegan.report.discover import MAX_DEPTH, RULES, Inventory, discover
from mobilegan.report.markup import page
from mobilegan.utils.atomic import atomic_write_text
from mobilegan.version import __version__

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


class ReportError(MobileganError):
    """A run folder that cannot be reported on."""


@dataclass(frozen=True)
class SectionKind:
    kind: str  # a discover.RULES kind
    render: Callable[[tuple[Path, ...], RenderContext], list[Rendered]]


# Report order: the demo's picture first, then quality, the shipped files, speed, and training history.
SECTIONS: tuple[SectionKind, ...] = (
    SectionKind("demo", section_demo.render),
    SectionKind("eval", section_runs.render_eval),
    SectionKind("export", section_export.render),
    SectionKind("bench", section_bench.render),
    SectionKind("training", section_runs.render_training),
)

# Footer notes: (kinds of output they explain, text); a note is shown when one of its kinds was found.
FOOTER: tuple[tuple[tuple[str, ...], str], ...] = (
    (("demo", "eval"), "PSNR is 10 log10(1 / MSE) on pixels in [0, 1] (the generators' [-1, 1] output with data "
     "range 2), averaged over images; SSIM is Wang et al. (2004) with an 11-tap Gaussian window (sigma 1.5), per "
     "channel."),
    (("demo", "eval"), "'vs truth' scores compare with a known ground truth (the demo's documented style transform "
     "of held-out photos); 'student vs teacher' measures how faithfully the student copies the teacher, not image "
     "quality."),
    (("eval", "export", "bench"), "MACs (real) count each multiply-accumulate once; MACs (papers' convention) charge "
     "a stride-2 transposed convolution 4x, as GAN Compression, CAT and OMGD count them. Both are at the size shown."),
    (("export",), "Parity compares each exported file's output with eager PyTorch fp32 on the same inputs (worst "
     "input's PSNR, max abs difference); an artifact passes when its PSNR reaches the minimum for its precision. "
     "Core ML programs are checked on Linux with mobilegan's MIL reference interpreter (engine mil-reference)."),
    (("bench",), "Latency is wall-clock time per image: median with p10-p90 over the listed runs after warm-up, on "
     "the machine named in each benchmark. 'host' rows were measured on that computer; device rows were imported "
     "from a phone. Rows labelled EXAMPLE come from format samples shipped with the apps: they are not "
     "measurements. Roofline figures are estimates from peak compute, not measurements."),
    (("training",), "Training curves show the losses logged every few steps (a moving average when there are "
     "many); the sample grid is the newest one the run wrote."),
)


def _default_title(inventory: Inventory, run_dir: Path) -> str:
    for path in inventory.get("demo"):
        doc, _ = read_json(path)
        title = as_dict(doc).get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    return f"mobilegan report: {run_dir.resolve().name or run_dir}"


def _toc(rendered: list[Rendered]) -> list[tuple[str, str]]:
    counts: dict[str, int] = {}
    for r in rendered:
        counts[r.label] = counts.get(r.label, 0) + 1
    seen: dict[str, int] = {}
    toc = []
    for r in rendered:
        seen[r.label] = seen.get(r.label, 0) + 1
        toc.append((r.anchor, r.label if counts[r.label] == 1 else f"{r.label} {seen[r.label]}"))
    return toc


def render_html(run_dir: Path, *, title: str | None = None, max_depth: int = MAX_DEPTH) -> str:
    """The report's HTML for ``run_dir`` (nothing written)."""
    if not run_dir.exists():
        raise ReportError(f"{run_dir}: no such folder")
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a folder (give the run folder that holds the outputs)")
    inventory = discover(run_dir, max_depth=max_depth)
    if not len(inventory):
        looked_for = "metrics.jsonl, eval.json, model.json, demo.json or a mobilegan.bench/1 JSON file"
        raise ReportError(f"{run_dir}: nothing to report (looked {max_depth} levels deep for {looked_for})")
    ctx = RenderContext(root=run_dir)
    rendered: list[Rendered] = []
    todo = [s for s in SECTIONS if inventory.get(s.kind)]
    for spec in progress_bar(todo, desc="report", unit="section", leave=False, disable=None):
        rendered += spec.render(inventory.get(spec.kind), ctx)
    found = ", ".join(f"{len(inventory.get(r.kind))} {r.kind}" for r in RULES if inventory.get(r.kind))
    meta = [
        ("run folder", str(run_dir.resolve())),
        ("created", _dt.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("mobilegan", __version__),
        ("found", found),
    ]
    return page(title=title or _default_title(inventory, run_dir), meta=meta, toc=_toc(rendered),
                sections=[r.html for r in rendered],
                footer=[text for kinds, text in FOOTER if any(inventory.get(k) for k in kinds)])


def build_report(run_dir: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
                 title: str | None = None) -> Path:
    """Write a self-contained HTML report of everything found in ``run_dir``; returns its path.

    ``out`` defaults to ``RUN_DIR/report.html``. The file is written atomically: on any error
    no (partial) report is left behind and an existing one is kept.
    """
    run_dir = Path(run_dir)
    dest = Path(out) if out is not None else run_dir / REPORT_FILE
    if dest.is_dir():
        raise ReportError(f"{dest}: is a folder; give a file name for the report")
    text = render_html(run_dir, title=title)
    path = atomic_write_text(dest, text)
    log.info("report: %s (%.0f KB)", path, len(text.encode("utf-8")) / 1024)
    return path
