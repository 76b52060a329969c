"""Feature-distillation taps: which named teacher stage each student stage imitates.

Taps are stage *names* from ``ResnetGenerator.feature_names()`` (``stem``, ``down1``,
``down2``, ``block1``.., ``up1``, ``up2``), never ``nn.Sequential`` indices. A name says where
the stage's output lies (``down1``/``up1`` at H/2, ``down2`` and blocks at H/4), so a
space-to-depth student, which lacks the full-resolution stages (and the H/2 ones at factor 4),
pairs with the paper's teacher by the same names. A student
block is paired with the teacher block at the same relative depth, so an 8-block student
can learn from a 9-block teacher. A learned 1x1 conv per tap maps the student's width to
the teacher's (the adapters are thrown away after distillation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mobilegan.errors import ConfigError
from mobilegan.models.generator import ResnetGenerator

_BLOCK = re.compile(r"^block(\d+)$")


@dataclass(frozen=True)
class TapPair:
    student: str
    teacher: str


def map_block(index: int, n_student: int, n_teacher: int) -> int:
    """1-based teacher block at the same relative depth as student block ``index``."""
    return min(n_teacher, max(1, round(index * n_teacher / n_student)))


def default_taps(student: ResnetGenerator, teacher: nn.Module, *, n_block_taps: int = 2) -> list[TapPair]:
    """``down2``, ``n_block_taps`` evenly spaced blocks (proportionally mapped), and ``up1``
    (left out when either network has no ``up1``, as a space-to-depth-4 student).

    A U-Net teacher has no blocks: the student's ``down2`` and ``up1`` pair with the U-Net's stages of
    the same names and resolution (H/4, H/2), and its last block with the U-Net's ``up2``, the
    decoder's H/4 feature, where everything the U-Net computed below H/4 has come back up."""
    if not isinstance(teacher, ResnetGenerator):
        names = set(teacher.feature_names())
        pairs = [TapPair("down2", "down2")] if "down2" in names else []
        if len(student.blocks) and "up2" in names:
            pairs.append(TapPair(f"block{len(student.blocks)}", "up2"))
        if "up1" in student.feature_names() and "up1" in names:
            pairs.append(TapPair("up1", "up1"))
        return pairs
    n_s, n_t = len(student.blocks), len(teacher.blocks)
    pairs = [TapPair("down2", "down2")]
    if n_s and n_t:
        chosen = sorted({max(1, round(k * n_s / (n_block_taps + 1))) for k in range(1, n_block_taps + 1)})
        pairs += [TapPair(f"block{i}", f"block{map_block(i, n_s, n_t)}") for i in chosen]
    if "up1" in student.feature_names() and "up1" in teacher.feature_names():
        pairs.append(TapPair("up1", "up1"))
    return pairs


def parse_taps(spec: str, student: ResnetGenerator, teacher: nn.Module) -> list[TapPair]:
    """``"down2,block4,up1"`` or with explicit pairs ``"block4:block5"`` (student:teacher).

    A bare block name is mapped proportionally; ``"none"`` or ``""`` means no feature taps.
    """
    spec = spec.strip()
    if spec.lower() in ("", "none"):
        return []
    s_names, t_names = set(student.feature_names()), set(teacher.feature_names())
    pairs: list[TapPair] = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        s_name, _, t_name = item.partition(":")
        if not t_name:
            m = _BLOCK.match(s_name)
            t_blocks = len(getattr(teacher, "blocks", ()))
            t_name = f"block{map_block(int(m[1]), len(student.blocks), t_blocks)}" if m and t_blocks else s_name
        if s_name not in s_names:
            raise ConfigError(f"--taps: student has no stage {s_name!r}; stages: {', '.join(student.feature_names())}")
        if t_name not in t_names:
            raise ConfigError(f"--taps: teacher has no stage {t_name!r}; stages: {', '.join(teacher.feature_names())}")
        if any(p.student == s_name for p in pairs):
            raise ConfigError(f"--taps: student stage {s_name!r} listed twice")
        pairs.append(TapPair(s_name, t_name))
    return pairs


class FeatureAdapters(nn.Module):
    """One 1x1 conv per tap, student width -> teacher width; ``forward`` returns the MSE sum."""

    def __init__(self, taps: list[TapPair], student: ResnetGenerator, teacher: nn.Module) -> None:
        super().__init__()
        self.taps = list(taps)
        s_ch, t_ch = student.feature_channels(), teacher.feature_channels()
        self.adapters = nn.ModuleDict(
            {tap.student: nn.Conv2d(s_ch[tap.student], t_ch[tap.teacher], kernel_size=1) for tap in self.taps}
        )

    def forward(self, s_feats: dict[str, torch.Tensor], t_feats: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean over taps of MSE(adapter(student feature), teacher feature)."""
        if not self.taps:
            return next(iter(s_feats.values())).new_zeros(())
        losses = []
        for tap in self.taps:
            mapped = self.adapters[tap.student](s_feats[tap.student])  # (B, C_teacher, h, w)
            losses.append(F.mse_loss(mapped, t_feats[tap.teacher].detach()))
        return torch.stack(losses).mean()
