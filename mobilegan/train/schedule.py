"""The CycleGAN learning-rate schedule: constant, then linear decay towards zero.

Applied per iteration (smoother than the paper's per-epoch steps; identical in total).
``factor(step) = 1 - max(0, step + 1 - constant_steps) / (decay_steps + 1)``.
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def linear_decay_factor(step: int, *, constant_steps: int, decay_steps: int) -> float:
    """LR multiplier after ``step`` scheduler steps."""
    return max(0.0, 1.0 - max(0, step + 1 - constant_steps) / float(decay_steps + 1))


def linear_decay_scheduler(optimizer: Optimizer, *, constant_steps: int, decay_steps: int) -> LambdaLR:
    """A ``LambdaLR`` following :func:`linear_decay_factor`; call ``.step()`` once per iteration.

    The lambda is a plain function, so the scheduler's ``state_dict()`` is plain data.
    """

    def factor(step: int) -> float:
        return linear_decay_factor(step, constant_steps=constant_steps, decay_steps=decay_steps)

    return LambdaLR(optimizer, lr_lambda=factor)


def apply_scheduled_lr(scheduler: LambdaLR) -> None:
    """Set every parameter group's lr to what ``scheduler``'s lambda gives at its current step.

    A no-op for an unchanged schedule; after loading a state saved under another schedule (a
    resumed run with a larger ``--steps``) the next step already uses the recomputed lr.
    """
    lrs = [base * fn(scheduler.last_epoch) for base, fn in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = lrs  # what get_last_lr() reports


def split_steps(total_steps: int, *, epochs: int, epochs_decay: int) -> tuple[int, int]:
    """(constant, decay) step counts for ``total_steps``, in the ratio ``epochs : epochs_decay``."""
    if epochs + epochs_decay <= 0:
        return total_steps, 0
    constant = round(total_steps * epochs / (epochs + epochs_decay))
    return constant, total_steps - constant
