"""Harder versions of the held-out photos, to find where a student breaks before a user does.

A student is used on any photo, and the held-out set is usually of one kind. Real photos bring what
it may lack: a white or black frame (scans, letterboxing, a border added by an app), blown-out
highlights, a dark exposure, no colour. Each probe makes such a version of a few held-out photos, and
the student is scored against its teacher on them, like the photos themselves. What they found
(BENCHMARKS.md "Real photos"): a training bug that only a white frame showed (a U-Net teacher's
student drew coloured noise along the right edge of framed photos, 19.8 dB, while every held-out
horse stayed above 28 dB), and sketch students that draw dark photos with far less line and
texture than their InstanceNorm teacher, which stretches each photo's contrast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mobilegan.distill.evaluate import generate
from mobilegan.metrics import psnr

PROBE_IMAGES = 16  # held-out photos each probe is made from (the first ones)
FRAME = 0.1  # frame width, as a fraction of the side


def _framed(value: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def frame(x: torch.Tensor) -> torch.Tensor:
        b = max(1, round(FRAME * min(x.shape[-2:])))
        y = x.clone()
        y[..., :b, :] = value
        y[..., -b:, :] = value
        y[..., :, :b] = value
        y[..., :, -b:] = value
        return y

    return frame


def _exposure(gain: float, gamma: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def expose(x: torch.Tensor) -> torch.Tensor:  # in [-1, 1]; gain then gamma on [0, 1], clipped as a camera does
        return (((x + 1) / 2 * gain).clamp(0, 1) ** gamma) * 2 - 1

    return expose


def _greyscale(x: torch.Tensor) -> torch.Tensor:
    luma = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return luma.expand_as(x).contiguous()


PROBES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "white frame": _framed(1.0),
    "black frame": _framed(-1.0),
    "overexposed": _exposure(1.8, 1.0),  # highlights blown out to flat white
    "underexposed": _exposure(0.6, 2.2),
    "greyscale": _greyscale,
}


@dataclass
class ProbeResult:
    name: str
    psnr_db: float  # mean over the probe's images
    psnr_db_min: float
    image: str  # the held-out photo whose probe version the student does worst on
    pictures: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # that version: input, teacher, student

    def to_dict(self) -> dict[str, Any]:
        return {"probe": self.name, "psnr_db": self.psnr_db, "psnr_db_min": self.psnr_db_min, "image": self.image}


def run_probes(teacher: torch.nn.Module, student: torch.nn.Module, images: torch.Tensor,
               names: Sequence[str] | None, *, device: torch.device | str = "cpu",
               n: int = PROBE_IMAGES) -> list[ProbeResult]:
    """Student vs teacher on every probe of the first ``n`` of ``images`` ((N, 3, H, W) in [-1, 1])."""
    base = images[:n]
    results = []
    for name, make in PROBES.items():
        x = make(base)
        t_out = generate(teacher, x, device=device, desc=f"teacher ({name})")
        s_out = generate(student, x, device=device, desc=f"student ({name})")
        p = psnr(s_out, t_out)
        i = int(torch.argmin(p))
        results.append(ProbeResult(name=name, psnr_db=float(p.mean()), psnr_db_min=float(p[i]),
                                   image=names[i] if names is not None else f"#{i}",
                                   pictures=(x[i], t_out[i], s_out[i])))
    return results
