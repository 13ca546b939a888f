"""The registry: every feature group, in the order their names appear in ``METAFEATURE_NAMES``."""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from metaknowledge.exceptions import InvalidInputError
from metaknowledge.metafeatures import _general, _infotheory, _landmarking, _statistical
from metaknowledge.metafeatures._registry import FeatureGroup

__all__ = ["GROUPS", "METAFEATURE_NAMES", "select_groups"]

GROUPS: tuple[FeatureGroup, ...] = (
    *_general.GROUPS,
    *_statistical.GROUPS,
    *_infotheory.GROUPS,
    *_landmarking.GROUPS,
)

METAFEATURE_NAMES: tuple[str, ...] = tuple(name for group in GROUPS for name in group.names)
"""Every meta-feature this package computes (the default set), in a stable order."""

_GROUP_OF = MappingProxyType({name: group for group in GROUPS for name in group.names})

if len(_GROUP_OF) != len(METAFEATURE_NAMES):  # pragma: no cover - a programming error
    raise RuntimeError("two feature groups register the same meta-feature name")


def select_groups(
    features: Iterable[str] | None,
) -> tuple[tuple[str, ...], tuple[FeatureGroup, ...]]:
    """The requested names (in ``METAFEATURE_NAMES`` order) and the groups that compute them.

    ``None`` selects everything.

    Raises:
        InvalidInputError: ``features`` is a string (not a collection of names) or names a
            meta-feature that does not exist.
    """
    if features is None:
        return METAFEATURE_NAMES, GROUPS
    if isinstance(features, str):
        raise InvalidInputError("features must be a collection of names, not a single string")
    requested = set(features)
    unknown = sorted(str(name) for name in requested - _GROUP_OF.keys())
    if unknown:
        raise InvalidInputError(f"unknown meta-features: {unknown}")
    names = tuple(name for name in METAFEATURE_NAMES if name in requested)
    groups = tuple(group for group in GROUPS if any(name in requested for name in group.names))
    return names, groups
