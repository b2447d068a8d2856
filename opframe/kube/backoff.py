"""ExponentialJitter: the retry wait used by the API layer and by handler retries.

``initial * 2**(attempt-1)``, capped at ``maximum``, plus up to ``jitter`` times that
much again at random (client-go's jitter: a delay ``d`` becomes a value in
``[d, d * (1 + jitter))``), never above ``maximum``. Retries of many clients that
failed together thus spread out instead of returning in lock-step.

A tenacity wait strategy of opframe's own, so that its behaviour does not change with
tenacity's releases (whose ``wait_exponential_jitter`` renamed its parameters).
"""

from __future__ import annotations

import random

import tenacity


class ExponentialJitter(tenacity.wait.wait_base):
    def __init__(self, initial: float, maximum: float, *, jitter: float = 1.0,
                 rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"need 0 < initial <= maximum, got {initial} and {maximum}")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self._rng = rng or random.Random()

    def base(self, attempt: int) -> float:
        """The delay before jitter for the given attempt (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * any sane initial is past any cap
        return min(self.initial * 2.0 ** exponent, self.maximum)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        delay = self.base(retry_state.attempt_number)
        return min(delay * (1.0 + self._rng.random() * self.jitter), self.maximum)
