"""Meta-models: proposers of initial configurations with one interface (``fit``/``recommend``)."""

from metaknowledge.metamodel._metamodel import MetaModel
from metaknowledge.metamodel._types import (
    Evidence,
    Neighbor,
    Observation,
    Proposer,
    Recommendation,
)

__all__ = ["Evidence", "MetaModel", "Neighbor", "Observation", "Proposer", "Recommendation"]
