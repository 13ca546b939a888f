"""Honest hold-out: which knowledge-base datasets are the benchmark dataset itself.

A benchmark dataset is "in the KB" when its OpenML id is a KB dataset id, or when a KB dataset has
the same number of rows, the same width (encoded width or raw feature count, which PMLB's integer
coding of categories may change) and, where the KB knows them, the same number of classes and the
same majority/minority class sizes, or when a KB dataset without an OpenML id (a local id, see
:func:`metaknowledge.knowledge.local_dataset_id`) has the same name. The last rule is for the
regression KB (auto-sklearn's datasets, known by name only, whose feature counts include the
target, so no shape matches: PMLB's ``197_cpu_act`` has 21 features, the KB's ``cpu_act`` 22).
Names are compared lower-case, alphanumerics only, without PMLB's ``<number>_`` prefix.
Warm-start strategies are then fitted on ``kb.without(ids)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from metaknowledge import KnowledgeBase

__all__ = ["HoldOut", "find_in_kb", "normalised_name"]


@dataclass(frozen=True)
class HoldOut:
    """The KB datasets to leave out, and why (``openml_id``, ``shape``, ``name``,
    ``shape+name`` or empty)."""

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


def normalised_name(name: object) -> str:
    """``name`` lower-case, alphanumerics only, without a leading ``<number>_`` (PMLB's)."""
    return re.sub(r"[^a-z0-9]", "", re.sub(r"^\d+_", "", str(name).lower()))


def find_in_kb(
    kb: KnowledgeBase,
    metafeatures: Mapping[str, float],
    *,
    openml_did: int | None,
    class_counts: tuple[int, ...],
    name: str | None = None,
) -> HoldOut:
    """The KB datasets that are this dataset (see the module docstring)."""
    if openml_did is not None and openml_did in set(kb.dataset_ids):
        return HoldOut((openml_did,), "openml_id")
    shape = _same_shape(kb, metafeatures, class_counts)
    named = _same_local_name(kb, name) if name is not None else ()
    reasons = [r for r, ids in (("shape", shape), ("name", named)) if ids]
    return HoldOut(tuple(dict.fromkeys(shape + named)), "+".join(reasons))


def _same_local_name(kb: KnowledgeBase, name: str) -> tuple[int, ...]:
    """The KB datasets without an OpenML id (negative local ids) named like ``name``."""
    if "name" not in kb.datasets:
        return ()
    wanted = normalised_name(name)
    if not wanted:
        return ()
    return tuple(
        int(str(dataset_id))
        for dataset_id, kb_name in kb.datasets["name"].items()
        if int(str(dataset_id)) < 0 and normalised_name(kb_name) == wanted
    )


def _same_shape(
    kb: KnowledgeBase, metafeatures: Mapping[str, float], class_counts: tuple[int, ...]
) -> tuple[int, ...]:
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
    return tuple(matches)
