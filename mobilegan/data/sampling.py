"""Batches of global sample indices for step-indexed datasets (:mod:`mobilegan.data.datasets`).

Step ``s`` of rank ``r`` out of ``W`` ranks with per-rank batch ``B`` takes samples
``k = (s * W + r) * B + j`` for ``j < B``: ranks see disjoint samples (what a
``DistributedSampler`` gives), and restarting at step ``s`` replays the same data as an
uninterrupted run. No sampler state needs saving.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Sampler


class StepBatchSampler(Sampler[list[int]]):
    """Yields the sample indices of steps ``start_step .. total_steps - 1`` for one rank."""

    def __init__(self, *, start_step: int, total_steps: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad sampler setup: batch={batch_size} rank={rank} world={world_size}")
        self.start_step = start_step
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size

    def indices(self, step: int) -> list[int]:
        base = (step * self.world_size + self.rank) * self.batch_size
        return list(range(base, base + self.batch_size))

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.total_steps):
            yield self.indices(step)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)


def steps_per_epoch(dataset_len: int, *, batch_size: int, world_size: int = 1) -> int:
    """Steps for one pass over ``dataset_len`` samples (at least 1)."""
    per_step = batch_size * world_size
    return max(1, -(-dataset_len // per_step))
