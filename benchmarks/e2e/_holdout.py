"""Honest hold-out: which knowledge-base datasets are the benchmark dataset itself.

A benchmark dataset is "in the KB" when its OpenML id is a KB dataset id, or when a KB dataset has
the same number of rows, the same width (encoded width or raw feature count, which PMLB's integer
coding of categories may change) and, where the KB knows them, the same number of classes and the
same majority/minority class sizes. Warm-start strategies are then fitted on ``kb.without(ids)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from metaknowledge import KnowledgeBase

__all__ = ["HoldOut", "find_in_kb"]


@dataclass(frozen=True)
class HoldOut:
    """The KB datasets to leave out, and why (``openml_id``, ``shape`` or empty)."""

    kb_ids: tuple[int, ...]
    reason: str

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return {"kb_ids": list(self.kb_ids), "reason": self.reason}


def _same(kb_value: object, value: float | None) -> bool:
    """Equal, or unknown on either side."""
    if value is None or kb_value is None:
        return True
    number = float(str(kb_value))
    return math.isnan(number) or math.isclose(number, value)


def _known_equal(kb_value: object, value: float | None) -> bool:
    if value is None or kb_value is None:
        return False
    number = float(str(kb_value))
    return not math.isnan(number) and math.isclose(number, value)


def find_in_kb(
    kb: KnowledgeBase,
    metafeatures: Mapping[str, float],
    *,
    openml_did: int | None,
    class_counts: tuple[int, ...],
) -> HoldOut:
    """The KB datasets that are this dataset (see the module docstring)."""
    if openml_did is not None and openml_did in set(kb.dataset_ids):
        return HoldOut((openml_did,), "openml_id")
    rows = metafeatures.get("NumberOfInstances")
    width = metafeatures.get("NumberOfFeaturesAfterEncoding")
    n_features = metafeatures.get("NumberOfFeatures")
    n_classes = float(len(class_counts)) if class_counts else None
    majority = float(class_counts[0]) if class_counts else None
    minority = float(class_counts[-1]) if class_counts else None
    matches = []
    table = kb.metafeatures
    for dataset_id, row in table.iterrows():
        if not _known_equal(row.get("NumberOfInstances"), rows):
            continue
        same_width = _known_equal(row.get("NumberOfFeaturesAfterEncoding"), width)
        if not (same_width or _known_equal(row.get("NumberOfFeatures"), n_features)):
            continue
        if not (
            _same(row.get("NumberOfClasses"), n_classes)
            and _same(row.get("MajorityClassSize"), majority)
            and _same(row.get("MinorityClassSize"), minority)
        ):
            continue
        matches.append(int(str(dataset_id)))
    return HoldOut(tuple(matches), "shape" if matches else "")
