"""Warm start: initialise a narrower student from the teacher by channel selection.

Possible when the student has the teacher's layer structure at a smaller width (full, not
depthwise, residual blocks, same upsampling and norm family). Each stage keeps the teacher
filters with the largest L1 norm (Li et al., "Pruning Filters for Efficient ConvNets");
the residual stream keeps one channel set through all blocks, because the skip additions
tie their channels together. Student block ``i`` copies the teacher block at the same
relative depth. A full-width student is an exact copy of the teacher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from mobilegan.distill.taps import map_block
from mobilegan.models.generator import ResnetGenerator

log = logging.getLogger(__name__)

_NORM_FAMILY = {"instance": "instance", "instance_decomposed": "instance", "batch": "batch", "none": "none"}


@dataclass(frozen=True)
class WarmStartReport:
    applied: bool
    reason: str


def warm_start_blockers(student: ResnetGenerator, teacher: nn.Module) -> list[str]:
    """Why channel selection cannot map the teacher onto this student (empty: it can)."""
    if not isinstance(teacher, ResnetGenerator):
        return [f"the teacher is a {type(teacher).__name__}, not a ResNet with the student's layer structure"]
    s, t = student.config, teacher.config
    problems = []
    if s.depthwise or t.depthwise:
        problems.append("depthwise blocks have no teacher counterpart")
    if s.space_to_depth > 1 or t.space_to_depth > 1:
        problems.append("space-to-depth entry and head have no teacher counterpart")
    if s.upsample != t.upsample:
        problems.append(f"upsampling differs ({s.upsample} vs teacher {t.upsample})")
    if _NORM_FAMILY.get(s.norm, s.norm) != _NORM_FAMILY.get(t.norm, t.norm):  # Keras norms (group1, ...) have no student kin
        problems.append(f"norm differs ({s.norm} vs teacher {t.norm})")
    if s.same_padding != t.same_padding:
        problems.append(f"padding convention differs ({s.same_padding} vs teacher {t.same_padding})")
    if (s.in_channels, s.out_channels) != (t.in_channels, t.out_channels):
        problems.append("image channels differ")
    if not problems and any(s.channels(m) > t.channels(m) for m in (1, 2, 4)):
        problems.append("student is wider than the teacher")
    if not problems and s.n_blocks and not t.n_blocks:
        problems.append("teacher has no residual blocks")
    return problems


def _top_channels(weight: torch.Tensor, k: int, *, out_dim: int) -> torch.Tensor:
    """Indices (ascending) of the ``k`` output channels with the largest filter L1 norm."""
    norms = weight.abs().transpose(0, out_dim).flatten(1).sum(dim=1)
    return torch.sort(torch.topk(norms, k).indices).values


@torch.no_grad()
def warm_start_from_teacher(student: ResnetGenerator, teacher: nn.Module) -> WarmStartReport:
    """Copy selected teacher channels into ``student`` in place when the structures allow it."""
    problems = warm_start_blockers(student, teacher)
    if problems:
        reason = "warm start skipped: " + "; ".join(problems)
        log.info(reason)
        return WarmStartReport(False, reason)
    t_state = teacher.state_dict()
    s_state = student.state_dict()
    new: dict[str, torch.Tensor] = {}
    transposed = student.config.upsample == "transpose"

    def copy(s_prefix: str, t_prefix: str, in_sel: torch.Tensor | None, k_out: int | None,
             out_sel: torch.Tensor | None = None, *, is_transposed: bool = False) -> torch.Tensor:
        """Copy one ConvNormAct; returns its output-channel selection."""
        w = t_state[f"{t_prefix}.conv.weight"]
        out_dim = 1 if is_transposed else 0
        if out_sel is None:
            out_sel = torch.arange(w.shape[out_dim]) if k_out is None else _top_channels(w, k_out, out_dim=out_dim)
        w = w.index_select(out_dim, out_sel)
        if in_sel is not None:
            w = w.index_select(1 - out_dim, in_sel)
        new[f"{s_prefix}.conv.weight"] = w
        for name in ("conv.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var"):
            s_key, t_key = f"{s_prefix}.{name}", f"{t_prefix}.{name}"
            if s_key in s_state and t_key in t_state:
                new[s_key] = t_state[t_key].index_select(0, out_sel)
        t_bias, rm_key = t_state.get(f"{t_prefix}.conv.bias"), f"{s_prefix}.norm.running_mean"
        if f"{s_prefix}.conv.bias" not in s_state and t_bias is not None and rm_key in new:
            new[rm_key] = new[rm_key] - t_bias.index_select(0, out_sel)  # BN(conv + b) == BN'(conv), mean shifted
        return out_sel

    sc = student.feature_channels()
    sel1 = copy("stem", "stem", None, sc["stem"])
    sel2 = copy("down1", "down1", sel1, sc["down1"])
    sel4 = copy("down2", "down2", sel2, sc["down2"])
    n_s, n_t = len(student.blocks), len(teacher.blocks)
    for i in range(n_s):
        t_i = map_block(i + 1, n_s, n_t) - 1
        mid = copy(f"blocks.{i}.conv1", f"blocks.{t_i}.conv1", sel4, sc["down2"])
        copy(f"blocks.{i}.conv2", f"blocks.{t_i}.conv2", mid, None, out_sel=sel4)
    selu1 = copy("up1", "up1", sel4, sc["up1"], is_transposed=transposed)
    selu2 = copy("up2", "up2", selu1, sc["up2"], is_transposed=transposed)
    copy("head", "head", selu2, None)

    missing = sorted(k for k in s_state if k not in new and not k.endswith("num_batches_tracked"))
    if missing:  # e.g. a bias the teacher lacks: keep the student's own initialisation
        log.debug("warm start kept the student's init for %s", ", ".join(missing))
    student.load_state_dict({**s_state, **new}, strict=True)
    reason = f"warm start: {len(new)} tensors from the teacher by L1-norm channel selection"
    log.info(reason)
    return WarmStartReport(True, reason)
