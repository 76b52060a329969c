"""Probes (issue 31): harder versions of held-out photos (frames, exposure, greyscale) on which the
student is scored against its teacher, so that a failure the held-out set never triggers shows up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from mobilegan.distill.evaluate import evaluate_pair, format_report, write_eval
from mobilegan.distill.probes import FRAME, PROBES, run_probes
from mobilegan.models import create_model

SIDE = 32


def _photos(n: int = 3) -> torch.Tensor:
    return torch.rand(n, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8


class BreaksOnWhiteEdges(nn.Module):
    """The teacher, except where a white band touches the right edge: there it draws noise (the failure
    seen in the students of a U-Net teacher)."""

    def __init__(self, teacher: nn.Module) -> None:
        super().__init__()
        self.teacher = teacher

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.teacher(x).clone()
        white_edge = (x[..., :, -2:] > 0.99).all(dim=1)  # (B, H, 2)
        noise = torch.rand(y[..., :, -2:].shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
        y[..., :, -2:] = torch.where(white_edge.unsqueeze(1), noise, y[..., :, -2:])
        return y


def test_each_probe_is_a_harder_photo_of_the_same_shape() -> None:
    x = _photos()
    b = round(FRAME * SIDE)
    for name, make in PROBES.items():
        y = make(x)
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1 and not torch.equal(y, x), name
    assert torch.all(PROBES["white frame"](x)[..., :b, :] == 1) and torch.all(PROBES["black frame"](x)[..., :, -b:] == -1)
    assert (PROBES["overexposed"](x) == 1).float().mean() > (x == 1).float().mean() + 0.2  # blown highlights
    assert PROBES["underexposed"](x).mean() < x.mean() - 0.3
    grey = PROBES["greyscale"](x)
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])


def test_a_student_that_breaks_on_white_edges_is_caught_by_the_white_frame_only() -> None:
    torch.manual_seed(0)
    teacher = create_model("mobile_s2d4_w025", n_blocks=1).eval()
    results = {r.name: r for r in run_probes(teacher, BreaksOnWhiteEdges(teacher), _photos(), ["a", "b", "c"])}
    assert list(results) == list(PROBES)
    assert results["white frame"].psnr_db_min < 30
    assert all(r.psnr_db_min > 60 for name, r in results.items() if name not in ("white frame", "overexposed"))
    x, t, s = results["white frame"].pictures
    assert x.shape == t.shape == s.shape == (3, SIDE, SIDE) and not torch.equal(t, s)


def test_the_probes_reach_eval_json_the_summary_and_a_picture(tmp_path: Path) -> None:
    from PIL import Image

    torch.manual_seed(0)
    teacher = create_model("mobile_s2d4_w025", n_blocks=1).eval()
    report, t_out, s_out = evaluate_pair(teacher, BreaksOnWhiteEdges(teacher), _photos(), size=SIDE,
                                         names=["a", "b", "c"])
    write_eval(report, _photos(), t_out, s_out, tmp_path)
    doc = json.loads((tmp_path / "eval.json").read_text())
    assert [r["probe"] for r in doc["probes"]] == list(PROBES)
    white = next(r for r in doc["probes"] if r["probe"] == "white frame")
    assert white["psnr_db_min"] < 30 and white["image"] in {"a", "b", "c"}
    assert f"white frame {white['psnr_db']:.2f} / {white['psnr_db_min']:.2f} dB" in format_report(report)
    with Image.open(tmp_path / "eval_probes.png") as grid:
        assert grid.size == (3 * SIDE + 2 * 2, len(PROBES) * SIDE + (len(PROBES) - 1) * 2)


def test_probes_can_be_left_out() -> None:
    teacher = create_model("mobile_s2d4_w025", n_blocks=1).eval()
    report, _, _ = evaluate_pair(teacher, teacher, _photos(), size=SIDE, probes=False)
    assert "probes" not in report.extra and not report.probe_pictures
