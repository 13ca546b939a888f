"""Weka's stratified cross-validation folds, reproduced exactly.

OpenML's landmarkers call ``weka.classifiers.Evaluation.crossValidateModel`` with
``new java.util.Random(1)``: the instances are shuffled with that generator, grouped by class and
dealt into folds. Reproducing ``java.util.Random`` (a 48-bit linear congruential generator) and the
grouping step bit for bit gives the very same folds, so landmarkers can match OpenML's values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["JavaRandom", "weka_cv_test_folds"]

_MULTIPLIER = 0x5DEECE66D
_INCREMENT = 0xB
_MASK = (1 << 48) - 1

IntArray = npt.NDArray[np.int64]


class JavaRandom:
    """``java.util.Random``: same seed, same sequence as the JVM."""

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ _MULTIPLIER) & _MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * _MULTIPLIER + _INCREMENT) & _MASK
        value = self._seed >> (48 - bits)
        # Java returns a signed 32-bit int.
        return value - (1 << 32) if value >= 1 << 31 else value

    def next_int(self, bound: int) -> int:
        """A uniform int in ``[0, bound)``, exactly as ``Random.nextInt(bound)``.

        Raises:
            ValueError: ``bound`` is not positive.
        """
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound & -bound == bound:  # a power of two
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            # Java's overflow test `bits - value + (bound - 1) < 0` in 32-bit arithmetic.
            if bits - value + (bound - 1) < 1 << 31:
                return value


def _shuffle(order: IntArray, random: JavaRandom) -> None:
    """``Instances.randomize``: a Fisher-Yates shuffle from the end."""
    for j in range(order.size - 1, 0, -1):
        k = random.next_int(j + 1)
        order[j], order[k] = order[k], order[j]


def _group_by_class(order: IntArray, labels: IntArray) -> None:
    """``Instances.stratify``'s first step: move each class run together, by sequential swaps.

    Starting from the first instance, every later instance of the same class is swapped forward, in
    turn; then the same from the first instance of another class. Only the matches' positions need
    a scan: positions after the scan point are never touched before being scanned.
    """
    n = order.size
    index = 1
    while index < n:
        head = labels[order[index - 1]]
        matches = np.flatnonzero(labels[order[index:]] == head) + index
        for j in matches.tolist():
            order[index], order[j] = order[j], order[index]
            index += 1
        index += 1


def _deal(order: IntArray, n_folds: int) -> IntArray:
    """``Instances.stratStep``: take every ``n_folds``-th instance, from each start in turn."""
    return np.concatenate([order[start::n_folds] for start in range(n_folds)])


def weka_cv_test_folds(labels: IntArray, n_folds: int, seed: int) -> list[IntArray]:
    """The test fold of each round of Weka's stratified cross-validation, in Weka's order.

    ``labels`` are class codes (``-1`` = missing class: grouped together, as Weka does). Returns the
    row indices of each test fold in the order Weka evaluates them; the training set of a round is
    every other row.

    Raises:
        ValueError: fewer rows than folds, or fewer than two folds.
    """
    n = labels.size
    if n_folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    if n < n_folds:
        raise ValueError(f"cannot make {n_folds} folds of {n} instances")
    order = np.arange(n, dtype=np.int64)
    _shuffle(order, JavaRandom(seed))
    _group_by_class(order, labels)
    order = _deal(order, n_folds)
    folds = []
    per_fold, remainder = divmod(n, n_folds)
    for fold in range(n_folds):
        size = per_fold + 1 if fold < remainder else per_fold
        offset = fold if fold < remainder else remainder
        first = fold * per_fold + offset
        folds.append(order[first : first + size])
    return folds
