"""Evaluation of proposers: leave-one-dataset-out protocol, normalised regret, baselines."""

from metaknowledge.evaluation._baselines import (
    AverageRank,
    GreedyPortfolio,
    KnnBestConfigs,
    RandomOrder,
)
from metaknowledge.evaluation._protocol import DEFAULT_KS, EvaluationResult, evaluate_proposer
from metaknowledge.evaluation._regret import normalized_regret, regret_curve

__all__ = [
    "DEFAULT_KS",
    "AverageRank",
    "EvaluationResult",
    "GreedyPortfolio",
    "KnnBestConfigs",
    "RandomOrder",
    "evaluate_proposer",
    "normalized_regret",
    "regret_curve",
]
