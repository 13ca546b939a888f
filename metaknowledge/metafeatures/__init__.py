"""Meta-features of a dataset, named and defined as OpenML's data qualities.

Import from here; the underscored modules behind this facade may change.

* :func:`extract_metafeatures` -> ``{name: value}`` (NaN where undefined or failed);
* :func:`extract_metafeatures_report` -> :class:`MetafeatureReport` with the reasons for every NaN
  and per-feature timings;
* :data:`METAFEATURE_NAMES`, the default set, in a stable order;
* :data:`MAX_LANDMARK_ROWS`, the landmarkers' subsample size.

Every meta-feature is computed by a named feature group that is timed and allowed to fail alone;
see ``docs/metafeatures.md`` for the definitions and where they agree with OpenML.
"""

from metaknowledge.metafeatures._catalog import METAFEATURE_NAMES
from metaknowledge.metafeatures._extract import (
    MetafeatureReport,
    extract_metafeatures,
    extract_metafeatures_report,
)
from metaknowledge.metafeatures._landmarking import MAX_LANDMARK_ROWS

__all__ = [
    "MAX_LANDMARK_ROWS",
    "METAFEATURE_NAMES",
    "MetafeatureReport",
    "extract_metafeatures",
    "extract_metafeatures_report",
]
