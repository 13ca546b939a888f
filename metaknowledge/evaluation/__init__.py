"""Evaluation of proposers: leave-one-dataset-out protocol, normalised regret, baselines."""

from metaknowledge.evaluation._baselines import (
    AverageRank,
    GreedyPortfolio,
    KnnBestConfigs,
    RandomOrder,
)
from metaknowledge.evaluation._bound import ORACLE_NAME, similarity_oracle
from metaknowledge.evaluation._protocol import DEFAULT_KS, EvaluationResult, evaluate_proposer
from metaknowledge.evaluation._regret import normalized_regret, regret_curve
from metaknowledge.evaluation._scope import (
    LOSS_METRICS,
    check_higher_is_better,
    evaluable_dataset_ids,
)

__all__ = [
    "DEFAULT_KS",
    "LOSS_METRICS",
    "ORACLE_NAME",
    "AverageRank",
    "EvaluationResult",
    "GreedyPortfolio",
    "KnnBestConfigs",
    "RandomOrder",
    "check_higher_is_better",
    "evaluable_dataset_ids",
    "evaluate_proposer",
    "normalized_regret",
    "regret_curve",
    "similarity_oracle",
]
