"""The search space: learners, their hyperparameter ranges, and sklearn pipelines to fit them.

A *point* is one learner's complete canonical hyperparameters as sklearn names and values, e.g.
``("random_forest", {"criterion": "gini", "min_samples_split": 16, ...})``. Every configuration
of the bundled (Oboe) knowledge base is a point; :func:`validate_params` turns any partial
sklearn-style dict into one. A define-by-run optimiser searches the *flat* form (:func:`sample`,
:func:`to_flat`, :func:`from_flat`); the meta-model measures distances on :func:`encode`;
:func:`build_pipeline` fits a point on an uploaded table; :func:`config_key` names a point
(equal points, equal keys).

Import from here; the private modules may change.
"""

from metaknowledge.searchspace._encoding import encode, encoding_labels
from metaknowledge.searchspace._flat import (
    LEARNER_KEY,
    Suggester,
    flat_name,
    from_flat,
    sample,
    to_flat,
)
from metaknowledge.searchspace._identity import config_key
from metaknowledge.searchspace._neighbour import NEIGHBOUR_SCALE, NEIGHBOUR_SWITCH, neighbour
from metaknowledge.searchspace._params import (
    Categorical,
    Condition,
    Dimension,
    Float,
    Int,
    IntOrFraction,
    Param,
)
from metaknowledge.searchspace._pipeline import (
    MISSING_CATEGORY,
    ONE_HOT_MAX_CATEGORIES,
    ORDINAL_MAX_CATEGORIES,
    QuietPipeline,
    build_pipeline,
)
from metaknowledge.searchspace._registry import (
    LEARNERS,
    default_config,
    get_learner,
    learners_for,
    validate_params,
)
from metaknowledge.searchspace._spec import (
    CLASSIFICATION,
    REGRESSION,
    TASK_TYPES,
    BuildContext,
    LearnerSpec,
    Preprocessing,
)

__all__ = [
    "CLASSIFICATION",
    "LEARNERS",
    "LEARNER_KEY",
    "MISSING_CATEGORY",
    "NEIGHBOUR_SCALE",
    "NEIGHBOUR_SWITCH",
    "ONE_HOT_MAX_CATEGORIES",
    "ORDINAL_MAX_CATEGORIES",
    "REGRESSION",
    "TASK_TYPES",
    "BuildContext",
    "Categorical",
    "Condition",
    "Dimension",
    "Float",
    "Int",
    "IntOrFraction",
    "LearnerSpec",
    "Param",
    "Preprocessing",
    "QuietPipeline",
    "Suggester",
    "build_pipeline",
    "config_key",
    "default_config",
    "encode",
    "encoding_labels",
    "flat_name",
    "from_flat",
    "get_learner",
    "learners_for",
    "neighbour",
    "sample",
    "to_flat",
    "validate_params",
]
