"""Any-size and tiled inference for fully convolutional generators.

Sides that are not a multiple of 4 are reflect-padded and cropped back. Images larger than a
tile run tile by tile. Seams are avoided by construction, not hidden: an output pixel depends
on the input within its receptive field (``mobilegan.profile.receptive_field``), so a tile
pixel closer than ``radius = rf // 2`` to an inner tile border saw the tile's padding instead
of the neighbouring image. Such pixels get weight 0 (the blend window reaches zero at every
inner tile border and stays zero over that margin), neighbouring tiles overlap by at least
``2 * radius`` plus a short cross-fade, and tiles start on multiples of 4 so the stride-2
grids line up: every kept pixel then equals a whole-image run. When the tile is too small for
the receptive field (step kept >= tile/4), the margin shrinks and the plan says ``exact=False``.

InstanceNorm normalises with statistics of whatever it sees, so naive tiles each get their
own statistics and differ from a whole-image run. :func:`frozen_instance_stats` first records
each InstanceNorm layer's per-channel mean and variance over the whole image: in one pass when
it fits in ``stats_max_side``, otherwise exactly, tile by tile and layer by layer
(:mod:`mobilegan.inference.instance_stats`); tiles are then normalised with those. A student with
a context branch (:mod:`mobilegan.models.context`) reads the whole photo once, at its own
resolution as the teacher's InstanceNorms do; every tile is modulated with that context.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from mobilegan.utils.progress import progress_bar

from mobilegan.inference.instance_stats import frozen_stats, tiled_image_stats, whole_image_stats
from mobilegan.models.layers import GroupNormOne, ImageStatsBatchNorm, InstanceNormDecomposed

log = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor], torch.Tensor]
MULTIPLE = 4
RAMP = 16  # pixels over which neighbouring tiles cross-fade, beyond the discarded margins


@dataclass(frozen=True)
class TileConfig:
    tile: int = 512  # tile side in pixels (multiple of 4)
    overlap: int | None = None  # pixels shared by neighbouring tiles; None: from the receptive field
    stats_max_side: int = 1024  # InstanceNorm statistics: one pass up to this side, exact tiled passes above

    def __post_init__(self) -> None:
        if self.tile <= 0 or self.tile % MULTIPLE:
            raise ValueError(f"tile must be a positive multiple of {MULTIPLE}, got {self.tile}")
        if self.overlap is not None and not 0 <= self.overlap <= self.tile - MULTIPLE:
            raise ValueError(f"overlap must be in [0, tile - {MULTIPLE}] = [0, {self.tile - MULTIPLE}], got {self.overlap}")
        if self.stats_max_side < 64:
            raise ValueError(f"stats_max_side must be >= 64, got {self.stats_max_side}")


@dataclass(frozen=True)
class TilePlan:
    """How one image is cut: resolved from a :class:`TileConfig` and the model's receptive field."""

    tile: int
    overlap: int  # pixels neighbouring tiles share (at least; the last tile of a row may share more)
    margin: int  # pixels at inner tile borders with weight 0 (they saw the tile's padding)
    exact: bool  # the margin covers the receptive field: tiled output equals a whole-image run

    @property
    def step(self) -> int:
        return max(MULTIPLE, (self.tile - self.overlap) // MULTIPLE * MULTIPLE)


def plan_tiles(cfg: TileConfig, receptive_field: int, *, tile: int | None = None) -> TilePlan:
    """The overlap and zero margin for tiles of side ``tile`` (default ``cfg.tile``)."""
    side = cfg.tile if tile is None else tile
    radius = max(0, receptive_field // 2)
    if cfg.overlap is None:
        cap = max(0, side * 3 // 4 // MULTIPLE * MULTIPLE)  # keep the step >= tile / 4
        overlap = min(cap, -(-(2 * radius + RAMP) // MULTIPLE) * MULTIPLE)
    else:
        overlap = min(cfg.overlap, side - MULTIPLE)
    margin = radius if overlap >= 2 * radius else max(0, (overlap - RAMP) // 2)
    return TilePlan(tile=side, overlap=overlap, margin=margin, exact=margin >= radius)


def pad_to_multiple(x: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) on the bottom/right to multiples; returns the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if h > ph and w > pw else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def _is_instance_norm(m: nn.Module) -> bool:
    return (isinstance(m, (InstanceNormDecomposed, ImageStatsBatchNorm))
            or (isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats))


def has_instance_norm(model: nn.Module) -> bool:
    return any(_is_instance_norm(m) for m in model.modules())


@contextlib.contextmanager
def frozen_instance_stats(model: nn.Module, image: torch.Tensor, max_side: int, *,
                          receptive_field: int | None = None, progress: bool = False) -> Iterator[None]:
    """Within the block, every InstanceNorm of ``model`` uses the statistics of the whole ``image`` (B=1).

    An image whose long side fits ``max_side`` gets them from one whole-image pass; a larger one
    exactly, tile by tile with windows of about ``max_side`` (:mod:`mobilegan.inference.instance_stats`).
    """
    norms = {name: m for name, m in model.named_modules() if _is_instance_norm(m)}
    if not norms:
        yield
        return
    padded, _ = pad_to_multiple(image)
    if max(padded.shape[-2:]) <= max_side:
        stats = whole_image_stats(model, norms, padded)
    else:
        if receptive_field is None:
            from mobilegan.profile import receptive_field as measure

            receptive_field = measure(model)
        stats = tiled_image_stats(model, norms, padded, window=max_side, receptive_field=receptive_field,
                                  progress=progress)
    with frozen_stats(norms, stats):
        yield


def _forward_with_context(model: nn.Module, image: torch.Tensor) -> Forward:
    """``model`` as a per-tile forward; a context student gets the context of the whole ``image``.

    The context is read at the photo's own resolution, like the statistics of the teacher's
    InstanceNorms on the whole photo: closer to the teacher's whole-photo output than the photo
    scaled to the 256 px it trained at (BENCHMARKS.md, "Context of a large photo"). The branch is
    cheap: its first conv has stride 4 (a 12 MP photo: 33 MB above its own 137 MB tensor).
    """
    context = getattr(getattr(model, "config", None), "context", 0)
    if not context:
        return model
    film = model.context_film(image)  # type: ignore[operator]
    return lambda tile: model(tile, film=film)


def _window(n: int, plan: TilePlan, at_start: bool, at_end: bool) -> torch.Tensor:
    """Blend weights along one tile side: 0 over the margin at inner borders, then a linear ramp."""
    ramp = plan.overlap - 2 * plan.margin
    idx = torch.arange(n, dtype=torch.float32)
    w = torch.ones(n)
    if not at_start:
        w = torch.minimum(w, ((idx - plan.margin + 1) / (ramp + 1)).clamp(0, 1))
    if not at_end:
        w = torch.minimum(w, ((n - idx - plan.margin) / (ramp + 1)).clamp(0, 1))
    return w


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    return sorted(set(range(0, length - tile, step)) | {length - tile})


def run_tiled(forward: Forward, x: torch.Tensor, plan: TilePlan | TileConfig, *, progress: bool = False) -> torch.Tensor:
    """``forward`` over (1, C, H, W) with H, W multiples of 4, tile by tile, blended.

    A bare :class:`TileConfig` means a model of unknown receptive field (no zero margin).
    """
    if isinstance(plan, TileConfig):
        plan = plan_tiles(plan, 0)
    _, _, h, w = x.shape
    tile_h, tile_w = min(plan.tile, h), min(plan.tile, w)
    ys, xs = _starts(h, tile_h, plan.step), _starts(w, tile_w, plan.step)
    if len(ys) == 1 and len(xs) == 1:
        return forward(x)
    out = torch.zeros(1, 3, h, w)
    weight = torch.zeros(1, 1, h, w)
    bar = progress_bar(total=len(ys) * len(xs), desc="tiles", unit="tile", disable=not progress, leave=False)
    for y in ys:
        wy = _window(tile_h, plan, y == 0, y + tile_h >= h)
        for x0 in xs:
            wx = _window(tile_w, plan, x0 == 0, x0 + tile_w >= w)
            tile_out = forward(x[..., y : y + tile_h, x0 : x0 + tile_w]).float().cpu()
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y : y + tile_h, x0 : x0 + tile_w] += tile_out * wt
            weight[..., y : y + tile_h, x0 : x0 + tile_w] += wt
            bar.update()
    bar.close()
    return out / weight.clamp_min(1e-8)


@torch.no_grad()
def translate_tensor(
    model: nn.Module, x: torch.Tensor, cfg: TileConfig | None = None, *, progress: bool = False,
    receptive_field: int | None = None,
) -> torch.Tensor:
    """Eager generator on (1, 3, H, W) in [-1, 1] of any size; tiled when larger than a tile.

    ``receptive_field`` (pixels) is computed from ``model`` when not given.
    """
    multiple = getattr(model, "size_multiple", MULTIPLE)
    padded, (h, w) = pad_to_multiple(x, multiple)
    forward = _forward_with_context(model, padded)
    # A U-Net (sides multiples of 2**levels) sees the whole image at its innermost level, and a
    # one-group GroupNorm mixes all channels' statistics: no tile computes what the whole image does,
    # so they always run whole.
    whole_only = multiple > MULTIPLE or any(isinstance(m, GroupNormOne) for m in model.modules())
    if cfg is None or max(padded.shape[-2:]) <= cfg.tile or whole_only:
        return forward(padded)[..., :h, :w]
    if receptive_field is None:
        from mobilegan.profile import receptive_field as measure

        receptive_field = measure(model)
    plan = plan_tiles(cfg, receptive_field)
    if not plan.exact:
        log.debug("tile %d is small for a receptive field of %d px: margin %d, seams possible",
                  plan.tile, receptive_field, plan.margin)
    with frozen_instance_stats(model, padded, cfg.stats_max_side, receptive_field=receptive_field,
                               progress=progress):
        y = run_tiled(forward, padded, plan, progress=progress)
    return y[..., :h, :w]
