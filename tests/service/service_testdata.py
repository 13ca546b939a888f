"""Tiny data made for the service tests: tables, a knowledge base, and request helpers."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from metaknowledge import KnowledgeBase
from metaknowledge.searchspace import validate_params

#: Cheap learners, so studies in tests take seconds.
FAST_LEARNERS = ["decision_tree", "knn", "gaussian_nb", "logistic_regression"]

_KB_CONFIGS = {
    "knn-1": ("knn", {"n_neighbors": 1}),
    "knn-15": ("knn", {"n_neighbors": 15}),
    "tree-1": ("decision_tree", {"min_samples_leaf": 1}),
    "tree-8": ("decision_tree", {"min_samples_leaf": 8}),
    "logreg-0.1": ("logistic_regression", {"C": 0.1}),
    "logreg-10": ("logistic_regression", {"C": 10.0}),
    "nb": ("gaussian_nb", {}),
    "forest": ("random_forest", {}),
}
_KB_QUALITIES = [
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "MajorityClassPercentage",
    "NumberOfSymbolicFeatures",
    "PercentageOfMissingValues",
]


def make_knowledge_base(n_datasets: int = 8, seed: int = 0) -> KnowledgeBase:
    """A small, valid knowledge base of classification run history (random but reproducible)."""
    rng = np.random.default_rng(seed)
    ids = list(range(1, n_datasets + 1))
    configs = {
        cid: {"learner": learner, "params": validate_params(learner, params)}
        for cid, (learner, params) in _KB_CONFIGS.items()
    }
    performance = pd.DataFrame(
        rng.uniform(0.5, 0.95, size=(n_datasets, len(configs))),
        index=pd.Index(ids, name="dataset_id"),
        columns=pd.Index(list(configs), name="config_id"),
    )
    metafeatures = pd.DataFrame(
        {
            "NumberOfInstances": rng.integers(50, 5000, n_datasets).astype(float),
            "NumberOfFeatures": rng.integers(3, 60, n_datasets).astype(float),
            "NumberOfClasses": rng.integers(2, 6, n_datasets).astype(float),
            "MajorityClassPercentage": rng.uniform(20, 80, n_datasets),
            "NumberOfSymbolicFeatures": rng.integers(0, 10, n_datasets).astype(float),
            "PercentageOfMissingValues": rng.uniform(0, 10, n_datasets),
        },
        index=pd.Index(ids, name="dataset_id"),
    )
    return KnowledgeBase(
        performance=performance,
        metafeatures=metafeatures,
        configs=configs,
        runtime=pd.DataFrame(index=performance.index),
        datasets=pd.DataFrame(
            {"name": [f"kb-dataset-{i}" for i in ids], "source": ["test"] * n_datasets},
            index=performance.index,
        ),
        version="test-kb-1",
    )


def classification_frame(n_rows: int = 60, seed: int = 0, n_classes: int = 2) -> pd.DataFrame:
    """A learnable table: 3 numeric features, 1 categorical, a string class target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 3))
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    labels = np.array([f"c{i}" for i in range(n_classes)])
    y = labels[(np.digitize(x[:, 0] + 0.3 * x[:, 1], [-0.5, 0.5])[:] % n_classes)]
    return pd.DataFrame(
        {
            "f1": x[:, 0].round(4),
            "f2": x[:, 1].round(4),
            "f3": x[:, 2].round(4),
            "colour": colour,
            "label": y,
        }
    )


def regression_frame(n_rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A learnable regression table with a continuous target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 3))
    y = 2 * x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=n_rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "price": y.round(4)})


def to_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV bytes."""
    return frame.to_csv(index=False).encode()


def upload(client: TestClient, data: bytes, filename: str = "data.csv", **form: str) -> dict:
    """POST a file to /v1/datasets and return the JSON (asserting 200/201)."""
    response = client.post("/v1/datasets", files={"file": (filename, io.BytesIO(data))}, data=form)
    assert response.status_code in (200, 201), response.text
    return response.json()


#: Meta-features of a seeded task (profiling is tested on its own; runner tests must not depend
#: on it).
SEEDED_METAFEATURES = {
    "NumberOfInstances": 60.0,
    "NumberOfFeatures": 4.0,
    "NumberOfClasses": 2.0,
    "MajorityClassPercentage": 70.0,
    "NumberOfSymbolicFeatures": 1.0,
    "PercentageOfMissingValues": 0.0,
}


def seed_task(
    client: TestClient,
    frame: pd.DataFrame,
    target: str,
    *,
    task_type: str = "classification",
    metric: str = "balanced_accuracy",
) -> int:
    """Upload ``frame`` through the API and insert its task directly (fixed meta-features)."""
    from service.db import DatasetRepository, TaskRepository

    dataset = upload(client, to_csv(frame))
    ctx = client.app.state.context  # type: ignore[attr-defined]
    with ctx.db.session() as session:
        owner = DatasetRepository(session).get(dataset["id"], tenant_id=None)
        assert owner is not None
        repo = TaskRepository(session)
        existing = repo.find(dataset["id"], target, task_type, metric, tenant_id=owner.tenant_id)
        if existing is not None:
            return existing.id
        return repo.add(
            tenant_id=owner.tenant_id,
            dataset_id=dataset["id"],
            target=target,
            task_type=task_type,
            metric=metric,
            metafeatures=dict(SEEDED_METAFEATURES),
        ).id
