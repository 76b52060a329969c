"""Export folders (``model.json``): the model's size and cost, and one row per artifact with its parity proof."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mobilegan.report.common import RenderContext, Rendered, as_dict, as_float
from mobilegan.report.markup import Raw, badge, fmt, key_values, note, section, table

SHA_CHARS = 12
CONFIG_KEYS = ("arch", "layout", "num_downs", "ngf", "n_blocks", "width", "depthwise", "norm", "padding",
               "upsample", "same_padding")


def _verdict(parity: dict[str, Any]) -> Raw | None:
    if not parity:
        return badge("not checked", "warn")
    passed = parity.get("passed")
    if not isinstance(passed, bool):
        psnr, threshold = as_float(parity.get("psnr_db")), as_float(parity.get("threshold_db"))
        if psnr is None or threshold is None:
            return badge("unknown", "warn")
        passed = psnr >= threshold
    engine = parity.get("engine")
    how = f" {fmt(engine)}" if isinstance(engine, str) and engine else ""
    return Raw((badge("pass", "ok") if passed else badge("FAIL", "bad")) + how)


def _undelegated(delegation: dict[str, Any]) -> str | None:
    ops = as_dict(delegation.get("undelegated_ops"))
    if not delegation:
        return None
    return ", ".join(f"{op} x{n}" for op, n in sorted(ops.items())) if ops else "none"


def _segments(delegation: dict[str, Any]) -> str | None:
    if not delegation:
        return None
    backend = str(delegation.get("backend", "")).removesuffix("Backend")
    return f"{fmt(delegation.get('segments'))} {backend}".strip()


def artifact_row(art: dict[str, Any], folder: Path) -> list[Any]:
    parity, delegation = as_dict(art.get("parity")), as_dict(art.get("delegation"))
    size_b = art.get("bytes")
    name = str(art.get("file", ""))
    exists = (folder / name).exists() if name else False
    psnr = as_float(parity.get("psnr_db"))
    return [
        art.get("target"), art.get("precision"),
        Raw(fmt(name) if exists else f"{fmt(name)} {badge('missing', 'bad')}") if name else None,
        f"{size_b / 1024:,.1f}" if isinstance(size_b, (int, float)) else None,
        str(art.get("sha256", ""))[:SHA_CHARS] or None,
        f"{psnr:.1f}" if psnr is not None else None,
        parity.get("max_abs"), parity.get("threshold_db"), _verdict(parity),
        _segments(delegation), _undelegated(delegation),
    ]


def _model_facts(card: Any) -> Raw:
    cfg = as_dict(card.config)
    macs, compat = card.macs, card.macs_compat
    source = as_dict(card.source)
    return key_values([
        ("model", card.name),
        ("parameters", card.params),
        ("MACs (real)", f"{macs / 1e9:.3f} G" if isinstance(macs, int) else macs),
        ("MACs (papers' convention)", f"{compat / 1e9:.3f} G" if isinstance(compat, int) else compat),
        ("input size", f"{card.size[0]} x {card.size[1]} px"),
        ("generator", ", ".join(f"{k}={fmt(cfg[k])}" for k in CONFIG_KEYS if k in cfg) or None),
        ("source checkpoint", source.get("checkpoint")),
        ("source sha256", str(source.get("sha256", ""))[:SHA_CHARS] or None),
        ("exported", card.created),
        ("mobilegan", card.mobilegan_version),
    ])


def render(paths: tuple[Path, ...], ctx: RenderContext) -> list[Rendered]:
    from mobilegan.export.model_card import read_card
    from mobilegan.errors import MobileganError

    out = []
    for path in paths:
        folder = path.parent
        anchor = ctx.anchor("export", folder)
        try:
            card = read_card(folder)
        except MobileganError as exc:
            parts: list[str] = [note(str(exc), "bad")]
            title = "Export"
        else:
            title = f"Export: {card.name}"
            headers = ["target", "precision", "file", "KB", "sha256", "parity PSNR dB", "max abs", "min dB",
                       "parity", "delegate segments", "ops outside"]
            rows = [artifact_row(as_dict(a), folder) for a in card.artifacts]
            parts = [_model_facts(card)]
            if rows:
                parts.append(table(headers, rows, numeric=(3, 5, 6, 7, 9)))
                failed = sum(1 for r in rows if isinstance(r[8], str) and "FAIL" in r[8])
                if failed:
                    parts.append(note(f"{failed} artifact(s) failed their parity check: do not ship them", "bad"))
                for a in map(as_dict, card.artifacts):
                    if not a.get("parity") and (a.get("unchecked") or "coreml" in str(a.get("target"))):
                        why = a.get("unchecked") or ("Core ML inside ExecuTorch runs only on Apple devices; "
                                                     "run the iOS app's self-test")
                        parts.append(note(f"{a.get('file')}: not checked on this machine: {why}.", "warn"))
            else:
                parts.append(note("no artifacts listed in model.json", "warn"))
        out.append(Rendered(anchor, "export", section(anchor, title, parts, subtitle=ctx.rel(path))))
    return out
