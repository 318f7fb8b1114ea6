"""Learning-rate schedules as pure functions of the step number.

A schedule maps step t = 0, 1, … (one per optimizer step) to a learning rate, and
:func:`apply` writes it into the optimizer before each step. The formulas are those of
``torch.optim.lr_scheduler`` (StepLR, CosineAnnealingLR, OneCycleLR with cosine annealing),
so the sequences agree.
"""

from __future__ import annotations

import math


class Schedule:
    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def apply(self, optimizer, t: int) -> float:
        lr = self(t)
        optimizer.lr = lr
        return lr


class Constant(Schedule):
    def __init__(self, lr: float):
        self.lr = lr

    def __call__(self, t):
        return self.lr


class StepLR(Schedule):
    """η_t = η₀ · γ^⌊t / step_size⌋."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be ≥ 1, got {step_size}")
        self.lr, self.step_size, self.gamma = lr, step_size, gamma

    def __call__(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


class CosineLR(Schedule):
    """η_t = η_min + (η₀ − η_min)(1 + cos(π t / T))/2, after an optional linear warm-up."""

    def __init__(self, lr: float, total_steps: int, min_lr: float = 0.0, warmup_steps: int = 0):
        if total_steps < 1:
            raise ValueError(f"CosineLR: total_steps must be ≥ 1, got {total_steps}")
        self.lr, self.total_steps, self.min_lr, self.warmup = lr, total_steps, min_lr, warmup_steps

    def __call__(self, t):
        if t < self.warmup:
            return self.lr * (t + 1) / self.warmup
        span = max(self.total_steps - self.warmup, 1)
        frac = min(t - self.warmup, span) / span
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


class OneCycleLR(Schedule):
    """Smith's one-cycle policy, as ``torch.optim.lr_scheduler.OneCycleLR`` (cosine):
    from max_lr/div_factor up to max_lr over ``pct_start`` of the steps, then down to
    max_lr/(div_factor·final_div_factor)."""

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4):
        if total_steps < 2:
            raise ValueError(f"OneCycleLR: total_steps must be ≥ 2, got {total_steps}")
        self.max_lr, self.total_steps = max_lr, total_steps
        self.initial_lr = max_lr / div_factor
        self.final_lr = self.initial_lr / final_div_factor
        self.peak_step = float(pct_start * total_steps) - 1
        self.last_step = total_steps - 1

    @staticmethod
    def _cos(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def __call__(self, t):
        if t <= self.peak_step:
            return self._cos(self.initial_lr, self.max_lr, t / self.peak_step if self.peak_step > 0 else 1.0)
        span = self.last_step - self.peak_step
        return self._cos(self.max_lr, self.final_lr, min((t - self.peak_step) / span, 1.0))


SCHEDULES = ("constant", "step", "cosine", "one-cycle")
