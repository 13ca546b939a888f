"""Normalised regret: how far the best of the proposed configurations falls short."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["normalized_regret", "regret_curve"]


def normalized_regret(row: np.ndarray, chosen: Sequence[int]) -> float:
    """``(best - best of chosen) / (best - worst)`` over the finite scores of ``row``.

    0 means a proposed configuration is the dataset's best, 1 that the best proposal is its worst.
    Chosen configurations with unknown (NaN) scores count as failures (no improvement).

    Raises:
        ValueError: the row has fewer than two distinct finite scores (regret is undefined).
    """
    finite = row[np.isfinite(row)]
    if finite.size == 0 or finite.max() <= finite.min():
        raise ValueError("normalised regret needs a row with two distinct scores")
    best, worst = float(finite.max()), float(finite.min())
    picked = row[list(chosen)] if len(chosen) else np.asarray([])
    picked = picked[np.isfinite(picked)]
    reached = float(picked.max()) if picked.size else worst
    return (best - reached) / (best - worst)


def regret_curve(row: np.ndarray, order: Sequence[int], length: int) -> np.ndarray:
    """Normalised regret after 1..``length`` proposals taken in ``order`` (last value repeated
    when fewer were proposed)."""
    finite = row[np.isfinite(row)]
    best, worst = float(finite.max()), float(finite.min())
    out = np.empty(length)
    reached = -np.inf
    for t in range(length):
        if t < len(order):
            value = row[order[t]]
            if np.isfinite(value):
                reached = max(reached, float(value))
        out[t] = (best - max(reached, worst)) / (best - worst)
    return out
