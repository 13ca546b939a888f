"""Behaviour of the meta-model beyond the proposer contract."""

from __future__ import annotations

import numpy as np
import pytest

from metaknowledge import InvalidInputError, UnknownLearnerError, load_knowledge_base
from metaknowledge.metamodel import MetaModel

from .kbfactory import make_kb

SMALL = {"NumberOfInstances": 200.0, "NumberOfFeaturesAfterEncoding": 20.0}
LARGE = {"NumberOfInstances": 30000.0, "NumberOfFeaturesAfterEncoding": 20.0}


@pytest.fixture(scope="module")
def model() -> MetaModel:
    return MetaModel(bandwidth=0.5).fit(make_kb())


def test_meta_features_steer_the_first_proposal(model: MetaModel) -> None:
    assert model.recommend(SMALL, 1)[0].learner == "knn"
    assert model.recommend(LARGE, 1)[0].learner == "random_forest"


def test_observations_re_rank_when_meta_features_say_nothing(model: MetaModel) -> None:
    # Without meta-features the two families are equally likely; one measured config decides.
    knn_won = [("t:knn:5", 0.92), ("t:rf:16", 0.73)]
    rf_won = [("t:knn:5", 0.71), ("t:rf:16", 0.90)]
    assert model.recommend({}, 1, observed=knn_won)[0].learner == "knn"
    assert model.recommend({}, 1, observed=rf_won)[0].learner == "random_forest"


def test_observed_params_are_matched_to_kb_configs(model: MetaModel) -> None:
    from metaknowledge.searchspace import validate_params

    params = validate_params("knn", {"n_neighbors": 5})
    recs = model.recommend(SMALL, 9, observed=[({"learner": "knn", "params": params}, 0.9)])
    assert "t:knn:5" not in {r.config_id for r in recs}
    # An unseen point of a KB learner maps to its nearest KB configuration.
    near = validate_params("knn", {"n_neighbors": 6})
    recs = model.recommend(SMALL, 9, observed=[({"learner": "knn", "params": near}, 0.9)])
    assert "t:knn:5" not in {r.config_id for r in recs}


def test_evidence_names_similar_datasets_that_support_the_config(model: MetaModel) -> None:
    rec = model.recommend(LARGE, 1)[0]
    assert rec.evidence
    kb = make_kb()
    for ev in rec.evidence:
        assert 0 < ev.similarity <= 1
        assert kb.metafeatures.loc[ev.dataset_id, "NumberOfInstances"] > 10000  # a large one
        assert ev.score == pytest.approx(kb.performance.loc[ev.dataset_id, rec.config_id])
    assert rec.predicted_score is not None and 0.7 < rec.predicted_score < 1.0


def test_similar_returns_the_nearest_family(model: MetaModel) -> None:
    neighbours = model.similar(LARGE, 5)
    assert len(neighbours) == 5
    assert [n.distance for n in neighbours] == sorted(n.distance for n in neighbours)
    kb = make_kb()
    assert all(kb.metafeatures.loc[n.dataset_id, "NumberOfInstances"] > 10000 for n in neighbours)
    assert model.similar({"Unknown": 1.0}, 3) == []


def test_learner_without_history_gets_its_defaults(model: MetaModel) -> None:
    recs = model.recommend(SMALL, 2, learners=["hist_gradient_boosting"])
    assert len(recs) == 1
    assert recs[0].config_id is None and recs[0].predicted_score is None
    assert recs[0].learner == "hist_gradient_boosting"


def test_bad_input_is_rejected(model: MetaModel) -> None:
    with pytest.raises(UnknownLearnerError):
        model.recommend(SMALL, 1, learners=["no_such_learner"])
    with pytest.raises(InvalidInputError, match="unknown config_id"):
        model.recommend(SMALL, 1, observed=[("nope", 0.5)])
    with pytest.raises(InvalidInputError, match="pair"):
        model.recommend(SMALL, 1, observed=[("t:knn:5",)])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="mapping"):
        model.recommend([1, 2], 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="bandwidth"):
        MetaModel(bandwidth=0).fit(make_kb())


def test_failed_observations_count_as_seen_but_not_as_evidence(model: MetaModel) -> None:
    failed = [("t:knn:5", float("nan")), ("t:rf:16", float("nan"))]
    recs = model.recommend(SMALL, 9, observed=failed)
    assert not {"t:knn:5", "t:rf:16"} & {r.config_id for r in recs}
    # Failures carry no evidence: predictions are those made without observations.
    before = {r.config_id: r.predicted_score for r in model.recommend(SMALL, 9)}
    for rec in recs:
        assert rec.predicted_score == pytest.approx(before[rec.config_id])


def test_a_failure_rules_out_its_learners_configurations_that_cost_as_much() -> None:
    kb = make_kb()
    runtime = kb.runtime.copy()
    runtime[:] = 1.0
    runtime["t:rf:2"] = 10.0  # the one that fails
    runtime["t:rf:16"] = 9.0  # about as costly: ruled out with it
    runtime["t:rf:64"] = 3.0  # much cheaper: still proposed
    timed = MetaModel(bandwidth=0.5).fit(type(kb)(**{**kb.__dict__, "runtime": runtime}))
    failed = [("t:rf:2", float("nan"))]
    proposed = {r.config_id for r in timed.recommend(LARGE, 7, observed=failed)}
    assert "t:rf:16" not in proposed and "t:rf:2" not in proposed
    assert {"t:rf:64", "t:knn:1", "t:knn:5", "t:knn:15", "t:nb"} <= proposed
    assert "t:rf:16" in {r.config_id for r in timed.recommend(LARGE, 7)}
    # A successful trial rules nothing out; nor does a failure when the KB has no fit times.
    fine = [("t:rf:2", 0.9)]
    assert "t:rf:16" in {r.config_id for r in timed.recommend(LARGE, 7, observed=fine)}
    untimed = MetaModel(bandwidth=0.5).fit(
        type(kb)(**{**kb.__dict__, "runtime": runtime.iloc[:, :0]})
    )
    assert "t:rf:16" in {r.config_id for r in untimed.recommend(LARGE, 7, observed=failed)}


def test_version_names_kb_and_parameters() -> None:
    a = MetaModel().fit(make_kb())
    b = MetaModel(bandwidth=2.0).fit(make_kb())
    assert a.version.startswith("test.1+mm.") and a.version != b.version


def test_fits_the_bundled_knowledge_base() -> None:
    kb = load_knowledge_base()
    model = MetaModel().fit(kb)
    query = kb.metafeatures.loc[3].dropna().to_dict()
    recs = model.recommend(query, 5)
    assert len(recs) == 5
    assert all(r.config_id in kb.configs for r in recs)


def test_distances_to_datasets_outside_the_kb(model: MetaModel) -> None:
    near = {"NumberOfInstances": 210.0, "NumberOfFeaturesAfterEncoding": 20.0}
    far = {"NumberOfInstances": 40000.0, "NumberOfFeaturesAfterEncoding": 20.0}
    d_near, d_far, d_none = model.distances(SMALL, [near, far, {"Unknown": 1.0}])
    assert 0 <= d_near < d_far and d_none == float("inf")
    assert model.distances(SMALL, [SMALL]) == [0.0]
    assert model.distances(SMALL, []) == []


def _posterior_on_every_trial(
    model: MetaModel, prior: np.ndarray, columns: list[int], scores: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The model's definition written out on the raw trials, one row and column of the
    Gram matrix per trial, repeats included (what the grouped algebra must equal)."""
    cols, y = np.asarray(columns), np.asarray(scores)
    gram = model.coupling * model.config_cov_[np.ix_(cols, cols)] + model.noise**2 * np.eye(len(y))
    inverse = np.linalg.inv(gram)
    residual = y[None, :] - model.filled_[:, cols]
    ones = np.ones(len(y))
    offset = (residual @ inverse @ ones) / (ones @ inverse @ ones + model.offset_prior**-2)
    centred = residual - offset[:, None]
    loglik = -0.5 * np.einsum("it,ts,is->i", centred, inverse, centred)
    loglik -= 0.5 * offset**2 / model.offset_prior**2
    post = prior * np.exp(loglik - loglik.max())
    predicted = (
        model.filled_
        + offset[:, None]
        + centred @ (model.coupling * model.config_cov_[:, cols] @ inverse).T
    )
    return post / post.sum(), predicted


def test_repeated_trials_of_a_configuration_count_as_their_mean_with_less_noise(
    model: MetaModel,
) -> None:
    prior = np.full(len(model.dataset_ids_), 1.0 / len(model.dataset_ids_))
    knn, rf = model.config_index_["t:knn:5"], model.config_index_["t:rf:16"]
    columns = [knn, rf, knn, knn, rf]
    scores = [0.91, 0.74, 0.93, 0.90, 0.70]
    post, predicted, _ = model._posterior(prior, columns, scores)
    expected_post, expected_predicted = _posterior_on_every_trial(model, prior, columns, scores)
    np.testing.assert_allclose(post, expected_post, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(predicted, expected_predicted, rtol=1e-9, atol=1e-12)
    # And repeats are not the same as one trial: they are surer.
    once, _, _ = model._posterior(prior, [knn, rf], [0.913333, 0.72])
    assert not np.allclose(post, once)
