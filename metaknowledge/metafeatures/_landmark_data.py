"""The rows a landmarker learns from, and the signature every landmarker implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "IntArray", "LandmarkData", "Learner"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class LandmarkData:
    """Predictors and class codes of the (possibly subsampled) rows.

    ``numeric`` (``NaN`` = missing) and ``codes`` (``-1`` = missing, over ``n_values[j]`` declared
    values) hold the columns by kind; ``column_order`` gives the original column order as
    ``(is_numeric, index)``, which decides ties exactly as Weka's attribute order does. ``y`` holds
    class codes over ``n_classes`` declared classes, ``-1`` for a missing class.
    """

    numeric: FloatArray
    codes: IntArray
    n_values: IntArray
    column_order: tuple[tuple[bool, int], ...]
    y: IntArray
    n_classes: int

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.y.size)


Learner = Callable[[LandmarkData, IntArray, IntArray], FloatArray]
"""``learner(data, train_rows, test_rows)`` -> class probabilities, one row per test row, in order.

Training rows all have a class; test rows may not (their prediction is then ignored, but a learner
may still look at them, as Weka's IBk does)."""
