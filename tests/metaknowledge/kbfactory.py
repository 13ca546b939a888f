"""Tiny knowledge bases made for tests: structure the meta-model should find, in a few rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaknowledge.knowledge import KnowledgeBase, Provenance
from metaknowledge.searchspace import validate_params


def make_kb(n_datasets: int = 60, seed: int = 0) -> KnowledgeBase:
    """Two families of datasets: small ones on which kNN wins, large ones on which forests win.

    Meta-features: ``NumberOfInstances`` separates the families; ``ClassEntropy`` is known for
    half of the datasets only (as in the bundled KB, where qualities are partial).
    """
    rng = np.random.default_rng(seed)
    configs: dict[str, dict[str, object]] = {}
    for n in (1, 5, 15):
        configs[f"t:knn:{n}"] = {
            "learner": "knn",
            "params": validate_params("knn", {"n_neighbors": n}),
        }
    for split in (2, 16, 64):
        configs[f"t:rf:{split}"] = {
            "learner": "random_forest",
            "params": validate_params("random_forest", {"min_samples_split": split}),
        }
    configs["t:nb"] = {"learner": "gaussian_nb", "params": validate_params("gaussian_nb", {})}
    ids = list(range(1000, 1000 + n_datasets))
    large = np.arange(n_datasets) % 2 == 1
    perf = np.empty((n_datasets, len(configs)))
    for i in range(n_datasets):
        base = rng.uniform(0.6, 0.8)
        knn = base + (0.15 if not large[i] else 0.0) + rng.normal(0, 0.01, 3)
        rf = base + (0.15 if large[i] else 0.02) + rng.normal(0, 0.01, 3)
        perf[i] = np.concatenate([knn, rf, [base - 0.1]])
    index = pd.Index(ids, name="dataset_id")
    columns = pd.Index(list(configs), name="config_id")
    rows = np.where(large, rng.uniform(20000, 50000, n_datasets), rng.uniform(100, 500, n_datasets))
    entropy = np.where(np.arange(n_datasets) % 4 < 2, rng.uniform(0.5, 1.0, n_datasets), np.nan)
    metafeatures = pd.DataFrame(
        {
            "NumberOfInstances": rows,
            "NumberOfFeaturesAfterEncoding": rng.integers(5, 50, n_datasets),
            "ClassEntropy": entropy,
        },
        index=index,
    ).astype(float)
    return KnowledgeBase(
        performance=pd.DataFrame(perf, index=index, columns=columns),
        metafeatures=metafeatures,
        configs=configs,
        runtime=pd.DataFrame(np.ones_like(perf), index=index, columns=columns),
        datasets=pd.DataFrame({"name": [f"d{i}" for i in ids], "source": "test"}, index=index),
        version="test.1",
        provenance=(Provenance("test", "none", "0", "generated", "0" * 64, "CC0"),),
    )
