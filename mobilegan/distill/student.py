"""Choosing the student: a registry preset, field overrides, or the widest one under a MAC budget.

MAC budgets use the *compat* convention (transposed convs charged per output pixel, as the
GAN-compression papers count; see :mod:`mobilegan.profile`), so ``--target-macs 1.4G`` is
comparable with their published numbers. Every conv's output has a fixed fraction of the
input's pixels (sides are multiples of 4), so MACs scale exactly with ``H * W``: candidates
are profiled at a small side and scaled, and the chosen one is profiled again at full size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from mobilegan.errors import ConfigError
from mobilegan.models.config import GeneratorConfig
from mobilegan.models.presets import DEFAULT_STUDENT
from mobilegan.models.registry import build_model, get_config, get_entry
from mobilegan.profile import Profile, format_count, profile_model

log = logging.getLogger(__name__)

_PROBE_SIDE = 16
# Widths in steps of 1/8: with ngf 64 every step adds 8 channels to the first stage, which is
# the granularity make_divisible(., 8) allows anyway.
WIDTH_STEPS: tuple[float, ...] = tuple(k / 8 for k in range(1, 65))


@dataclass(frozen=True)
class StudentChoice:
    name: str  # preset the family came from
    config: GeneratorConfig
    profile: Profile  # at the requested size
    reason: str

    def describe(self) -> str:
        c = self.config
        s2d = f", space-to-depth {c.space_to_depth}" if c.space_to_depth > 1 else ""
        return (
            f"student from preset {self.name} (ngf {c.channels(1)}, width {c.width:g}, {c.n_blocks} "
            f"{'depthwise' if c.depthwise else 'full'} blocks, norm {c.norm}, padding {c.padding}, "
            f"upsample {c.upsample}{s2d}): {format_count(self.profile.params)} params, "
            f"{format_count(self.profile.macs_compat)} compat MACs ({format_count(self.profile.macs)} real) "
            f"at {self.profile.size[0]} px; {self.reason}"
        )


def _profile_shapes_only(config: GeneratorConfig, size: int) -> Profile:
    """Profile on the meta device: shapes and counts without allocating or initialising weights."""
    with torch.device("meta"):
        model = build_model(config)
    return profile_model(model, size)


def _compat_macs_estimate(config: GeneratorConfig, size: int) -> int:
    probe = _profile_shapes_only(config, _PROBE_SIDE)
    return probe.macs_compat * (size * size) // (_PROBE_SIDE * _PROBE_SIDE)


def choose_student(
    *,
    name: str | None = None,
    overrides: dict[str, Any] | None = None,
    target_macs: int | None = None,
    size: int = 256,
) -> StudentChoice:
    """Resolve ``--student`` / field overrides / ``--target-macs`` to a config and its profile."""
    name = name or DEFAULT_STUDENT
    if get_entry(name).kind != "generator":
        raise ConfigError(f"--student {name}: not a generator preset")
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    base = get_config(name, **overrides)
    if not isinstance(base, GeneratorConfig):
        raise ConfigError(f"--student {name}: a {getattr(base, 'arch', 'other')} teacher preset; students are "
                          "ResNet-family presets (mobile_*)")
    if target_macs is None:
        config, reason = base, "as configured"
    else:
        if "width" in overrides:
            raise ConfigError("--target-macs picks the width itself; do not also pass --width")
        config, reason = _widest_under(base, target_macs, size)
    profile = _profile_shapes_only(config, size)
    if target_macs is not None and profile.macs_compat > target_macs:  # the exact check at full size
        raise ConfigError(f"internal: chosen student has {profile.macs_compat} compat MACs > budget {target_macs}")
    return StudentChoice(name=name, config=config, profile=profile, reason=reason)


def _widest_under(base: GeneratorConfig, budget: int, size: int) -> tuple[GeneratorConfig, str]:
    """Binary search over :data:`WIDTH_STEPS` (MACs grow with width) for the widest fit."""
    lo, hi = 0, len(WIDTH_STEPS) - 1
    smallest = _compat_macs_estimate(base.with_overrides(width=WIDTH_STEPS[0]), size)
    if smallest > budget:
        raise ConfigError(
            f"--target-macs {format_count(budget)}: even width {WIDTH_STEPS[0]:g} of this family needs "
            f"{format_count(smallest)} compat MACs at {size} px; use fewer blocks, depthwise blocks or a smaller --size"
        )
    while lo < hi:  # invariant: WIDTH_STEPS[lo] fits
        mid = (lo + hi + 1) // 2
        if _compat_macs_estimate(base.with_overrides(width=WIDTH_STEPS[mid]), size) <= budget:
            lo = mid
        else:
            hi = mid - 1
    width = WIDTH_STEPS[lo]
    log.debug("target MACs %d: width %g", budget, width)
    return base.with_overrides(width=width), f"widest width of this family within {format_count(budget)} compat MACs"
