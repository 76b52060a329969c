"""``mobilegan report``: one self-contained HTML page for a run folder.

It finds training and distillation logs (``metrics.jsonl`` + ``samples/``), evaluations
(``eval.json``), export folders (``model.json``), benchmark files (``mobilegan.bench/1``)
and demo summaries (``demo.json``) and renders a section for each: charts and pictures are
embedded as PNG data URIs, the styling is inline, there are no scripts and no external URLs.
"""

from mobilegan.report.build import REPORT_FILE, ReportError, build_report, render_html

__all__ = ["REPORT_FILE", "ReportError", "build_report", "render_html"]
