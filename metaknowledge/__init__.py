"""metaknowledge: meta-learning for hyperparameter optimisation, as a pure library.

The public facade. Import from here (or from a subpackage's own facade); the underscored modules
behind them may change.

- :func:`load_knowledge_base` / :class:`KnowledgeBase`: run histories of past datasets.
- :func:`extract_metafeatures`: OpenML data qualities of a new dataset.
- :class:`MetaModel`: proposes configurations (:class:`Recommendation`) and finds similar datasets
  (:class:`Neighbor`).
- :func:`build_pipeline`, :func:`validate_params`, :func:`learners_for`: the search space.
- one exception tree rooted at :class:`MetaknowledgeError`.
"""

from metaknowledge.exceptions import (
    InvalidConfigError,
    InvalidInputError,
    MetaknowledgeError,
    NotFittedError,
    SnapshotError,
    SourceError,
    UnknownLearnerError,
)
from metaknowledge.knowledge import KnowledgeBase, Provenance, load_knowledge_base
from metaknowledge.metafeatures import (
    METAFEATURE_NAMES,
    MetafeatureReport,
    extract_metafeatures,
    extract_metafeatures_report,
)
from metaknowledge.metamodel import Evidence, MetaModel, Neighbor, Proposer, Recommendation
from metaknowledge.searchspace import (
    build_pipeline,
    default_config,
    get_learner,
    learners_for,
    validate_params,
)

__all__ = [
    "METAFEATURE_NAMES",
    "Evidence",
    "InvalidConfigError",
    "InvalidInputError",
    "KnowledgeBase",
    "MetaModel",
    "MetafeatureReport",
    "MetaknowledgeError",
    "Neighbor",
    "NotFittedError",
    "Proposer",
    "Provenance",
    "Recommendation",
    "SnapshotError",
    "SourceError",
    "UnknownLearnerError",
    "build_pipeline",
    "default_config",
    "extract_metafeatures",
    "extract_metafeatures_report",
    "get_learner",
    "learners_for",
    "load_knowledge_base",
    "validate_params",
]
