"""The meta-model: a posterior over "which past datasets is the new one like", and the portfolio
of configurations that does best under it.

Model. A new dataset is taken to behave like one of the KB datasets ``j``, up to a constant offset
in score and a deviation that is correlated across configurations: ``score ≈ P[j] + offset_j + e``
with ``e ~ GP(0, coupling * C + noise² I)``, ``C`` the KB's configuration covariance. The prior over
``j`` comes from meta-feature similarity (a Gaussian kernel on the weighted partial distance of
:class:`FeatureSpace` that also rewards an exact match of the table's shape, the mark of a sibling
dataset; its bandwidth and bonus are learned from the KB by leave-one-dataset-out, see
:mod:`._similarity`), mixed with a little uniform mass so no dataset is ruled out. Each observed
``(config, score)`` on the new dataset updates it twice: datasets under which the observed scores
are likely gain weight (marginal likelihood), and each dataset's row is bent towards what was
measured (conditional mean), so that configurations correlated with a surprise move with it. That
is what lets the model steer the first trials rather than only seed them.

Proposals. ``recommend(k)`` greedily builds the set of ``k`` configurations maximising the posterior
expected *normalised* improvement over the best score seen so far (normalised per dataset by its
best-worst range, so that hard and easy datasets count alike): the first pick is the configuration
with the best expected normalised score, each next pick the one that adds most where the previous
ones fall short. This is the similarity-weighted greedy portfolio of auto-sklearn 2.0 / FLAML
zero-shot, made Bayesian in the observations.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, NotFittedError, UnknownLearnerError
from metaknowledge.knowledge import KnowledgeBase
from metaknowledge.metamodel._features import FeatureSpace
from metaknowledge.metamodel._similarity import (
    BANDWIDTHS,
    MATCH_BONUSES,
    SimilarityKernel,
    learn_kernel,
)
from metaknowledge.metamodel._types import Evidence, Neighbor, Observation, Recommendation
from metaknowledge.searchspace import config_key

__all__ = ["FAILED_COST_SHARE", "INCUMBENT_GAP", "MetaModel"]

INCUMBENT_GAP = 0.1
"""Gap below an incumbent row's score assumed for its unknown cells when the KB has no dense row to
measure it on (the median best-minus-mean gap of the bundled classification KB is 0.088)."""

FAILED_COST_SHARE = 0.5
"""A failed observation (NaN score: an error or the per-trial time limit) rules out the other
configurations of its learner that the KB's fit times say cost at least this share of the failed
one's. Without it, a learner that timed out was proposed again and again: on PMLB's
mfeat_factors (2,000 rows, 216 columns, 10 classes) six of the ten steered trials were
gradient-boosting configurations with ``max_features=None``, each killed at the 120-second
limit. The KB's fit times are noisy (two such configurations that differ only in learning rate,
the same work, are 3.3 s and 4.7 s by geometric mean), so the share is a half, not nearly one;
with 0.75 two of the ten still timed out. ``max_features="log2"`` at depth 3 costs a third."""


class MetaModel:
    """Proposes initial configurations for a new dataset from the run history of similar ones.

    Parameters (stored as given, scikit-learn style; learned state ends in ``_``):

    - ``bandwidth``: width of the meta-feature kernel, in robust-scaled units (smaller = trust the
      nearest datasets more). None: learned in ``fit`` (``bandwidth_``).
    - ``match_bonus``: log-weight a KB dataset gains for each shape quality (rows, encoded
      columns) it shares exactly with the new dataset. None: learned in ``fit``
      (``match_bonus_``), together with the bandwidth when that is None too.
    - ``uniform_mass``: share of prior mass spread over all KB datasets regardless of similarity.
    - ``noise``: assumed standard deviation of a score around ``P[j, c] + offset_j``.
    - ``offset_prior``: standard deviation of the prior on the per-dataset score offset.
    - ``coupling``: how far (as a share of the KB's configuration covariance) the new dataset may
      deviate from a similar past one; 0 = exactly like it up to the offset.
    - ``n_evidence``: how many supporting datasets each recommendation lists.
    - ``random_state``: breaks exact ties between configurations reproducibly.
    - ``source_weights``: ``{datasets.source: w}``; a KB dataset of that source weighs ``w`` times
      as much in the similarity prior (others 1). A service uses it for a tenant's own history,
      which is likelier to resemble the tenant's next dataset than a public one is. None: all 1.
    """

    def __init__(
        self,
        *,
        bandwidth: float | None = None,
        match_bonus: float | None = None,
        uniform_mass: float = 0.05,
        noise: float = 0.02,
        offset_prior: float = 0.3,
        coupling: float = 0.2,
        n_evidence: int = 3,
        random_state: int | None = 0,
        source_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.bandwidth = bandwidth
        self.match_bonus = match_bonus
        self.uniform_mass = uniform_mass
        self.noise = noise
        self.offset_prior = offset_prior
        self.coupling = coupling
        self.n_evidence = n_evidence
        self.random_state = random_state
        self.source_weights = source_weights

    # -- fitting ---------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention)."""
        return {
            "bandwidth": self.bandwidth,
            "match_bonus": self.match_bonus,
            "uniform_mass": self.uniform_mass,
            "noise": self.noise,
            "offset_prior": self.offset_prior,
            "coupling": self.coupling,
            "n_evidence": self.n_evidence,
            "random_state": self.random_state,
            "source_weights": None if self.source_weights is None else dict(self.source_weights),
        }

    def _validate_params(self) -> None:
        for name in ("bandwidth", "noise", "offset_prior"):
            value = getattr(self, name)
            if not (name == "bandwidth" and value is None) and not float(value) > 0:
                raise InvalidInputError(f"{name} must be > 0, got {value!r}")
        if self.match_bonus is not None and not float(self.match_bonus) >= 0:
            raise InvalidInputError(f"match_bonus must be >= 0, got {self.match_bonus!r}")
        if not 0.0 <= float(self.uniform_mass) <= 1.0:
            raise InvalidInputError(f"uniform_mass must lie in [0, 1], got {self.uniform_mass!r}")
        if not float(self.coupling) >= 0:
            raise InvalidInputError(f"coupling must be >= 0, got {self.coupling!r}")
        if int(self.n_evidence) < 0:
            raise InvalidInputError("n_evidence must be >= 0")
        for source, weight in (self.source_weights or {}).items():
            if not (np.isfinite(float(weight)) and float(weight) > 0):
                raise InvalidInputError(f"source weight of {source!r} must be > 0, got {weight!r}")

    def fit(self, kb: KnowledgeBase) -> MetaModel:
        """Learn from ``kb``; returns ``self``.

        Raises:
            InvalidInputError: invalid parameters, or a KB without datasets or configurations.
        """
        self._validate_params()
        perf = kb.performance.to_numpy(dtype=np.float64)
        if perf.size == 0:
            raise InvalidInputError("cannot fit on an empty knowledge base")
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN rows
            best = np.nanmax(perf, axis=1)
            worst = np.nanmin(perf, axis=1)
        dense = np.isfinite(best) & (best > worst)  # rows that say which configuration is better
        # Rows with one score (auto-sklearn's: the best pipeline of a long search) are read as
        # incumbents: that configuration is the dataset's best, the others one gap below it.
        incumbent = np.isfinite(perf).sum(axis=1) == 1
        keep = dense | incumbent
        if not keep.any():
            raise InvalidInputError("the knowledge base has no dataset with a known score")
        self.dataset_ids_ = np.asarray(kb.performance.index, dtype=np.int64)[keep]
        self.dataset_names_ = [
            str(kb.datasets["name"].get(i, f"dataset-{i}")) if "name" in kb.datasets else str(i)
            for i in self.dataset_ids_
        ]
        self.performance_ = perf[keep]
        self.incumbent_ = incumbent[keep]
        self.best_ = best[keep]
        gap = _incumbent_gap(perf[dense])
        self.worst_ = np.where(self.incumbent_, self.best_ - gap, worst[keep])
        self.range_ = self.best_ - self.worst_
        self.config_ids_ = [str(c) for c in kb.performance.columns]
        self.config_index_ = {c: i for i, c in enumerate(self.config_ids_)}
        self.configs_ = [kb.configs[c] for c in self.config_ids_]
        self.config_learners_ = np.asarray([str(c["learner"]) for c in self.configs_])
        self.filled_ = self._filled(gap)
        self.log_cost_ = _log_costs(kb.runtime, self.config_ids_)
        centred = self.filled_ - self.filled_.mean(axis=1, keepdims=True)
        self.config_cov_ = centred.T @ centred / len(centred)
        self.features_ = FeatureSpace(kb.metafeatures, list(self.dataset_ids_))
        self.kernel_ = self._learn_kernel()
        self.bandwidth_ = self.kernel_.bandwidth
        self.match_bonus_ = self.kernel_.match_bonus
        sources = (
            [str(s) for s in kb.datasets["source"].reindex(self.dataset_ids_).fillna("")]
            if "source" in kb.datasets
            else [""] * len(self.dataset_ids_)
        )
        weights = dict(self.source_weights or {})
        self.prior_weight_ = np.asarray([float(weights.get(s, 1.0)) for s in sources])
        rng = np.random.default_rng(self.random_state)
        # A tiny, fixed per-config jitter (far below any score difference) breaks exact ties.
        self.tiebreak_ = rng.uniform(0.0, 1e-9, size=len(self.config_ids_))
        self.kb_version_ = kb.version
        self.metric_ = kb.metric
        self.task_type_ = kb.task_type
        return self

    def _filled(self, gap: float) -> np.ndarray:
        """The KB matrix with every unknown cell imputed (the GP algebra needs a full matrix).

        Dense rows: a configuration's mean over the dense rows that ran it; a configuration only
        ever seen as an incumbent counts as average (the row's mean); one never run anywhere, as
        the mean worst score. Incumbent rows: ``gap`` below the row's one score.
        """
        known = np.isfinite(self.performance_)
        dense = ~self.incumbent_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # columns without a value
            column_mean = np.nanmean(np.where(known & dense[:, None], self.performance_, np.nan), 0)
            row_mean = np.nanmean(self.performance_, axis=1)
            fallback = np.nanmean(self.worst_[dense]) if dense.any() else np.nanmean(self.worst_)
        only_incumbents = ~np.isfinite(column_mean) & known.any(axis=0)
        filled = np.where(
            only_incumbents[None, :],
            row_mean[:, None],
            np.where(np.isfinite(column_mean), column_mean, fallback)[None, :],
        )
        filled = np.where(self.incumbent_[:, None], (self.best_ - gap)[:, None], filled)
        return np.where(known, self.performance_, filled)

    @property
    def version(self) -> str:
        """``<kb version>+mm.<hash of the parameters>``: names what produced a recommendation."""
        self._check_fitted()
        params = self.get_params()
        if params["source_weights"] is None:  # unset: the versions of earlier releases hold
            del params["source_weights"]
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.kb_version_}+mm.{digest}"

    def _learn_kernel(self) -> SimilarityKernel:
        """The similarity kernel: the given parameters, the others learned on this KB."""
        bandwidths = BANDWIDTHS if self.bandwidth is None else (float(self.bandwidth),)
        bonuses = MATCH_BONUSES if self.match_bonus is None else (float(self.match_bonus),)
        if len(bandwidths) == 1 and len(bonuses) == 1:
            return SimilarityKernel(bandwidths[0], bonuses[0])
        normalised = (self.filled_ - self.worst_[:, None]) / self.range_[:, None]
        return learn_kernel(
            self.features_,
            normalised,
            ~self.incumbent_,  # rows whose worst score was measured, not assumed
            float(self.uniform_mass),
            bandwidths=bandwidths,
            bonuses=bonuses,
            random_state=self.random_state,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "performance_"):
            raise NotFittedError("MetaModel is not fitted: call fit(kb) first")

    # -- the posterior ---------------------------------------------------------------------------
    def _kernel(self, metafeatures: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(metafeatures, Mapping):
            raise InvalidInputError("metafeatures must be a mapping of quality name -> value")
        return self.kernel_.similarity(self.features_, self.features_.vector(metafeatures))

    def _prior(self, similarity: np.ndarray) -> np.ndarray:
        n = len(similarity)
        similarity = similarity * self.prior_weight_
        total = similarity.sum()
        base = similarity / total if total > 0 else np.full(n, 1.0 / n)
        return (1.0 - self.uniform_mass) * base + self.uniform_mass / n

    def _map_observations(
        self, observed: Sequence[Observation]
    ) -> tuple[list[int], list[float], list[int], list[int]]:
        """(KB columns, scores) of the finite observations that map onto KB configs, the KB
        columns of every observation (failed ones included), which are not proposed again, and
        those of the failed ones."""
        columns: list[int] = []
        scores: list[float] = []
        seen: list[int] = []
        failed: list[int] = []
        known: dict[str, int | None] = {}  # a task's trials repeat configurations: map each once
        for item in observed:
            try:
                config, score = item
                value = float(score)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    "each observation must be a pair (config_id or {'learner', 'params'}, score)"
                ) from None
            key = _observation_key(config)
            if key is None:
                column = self._column_of(config)
            elif key in known:
                column = known[key]
            else:
                column = known[key] = self._column_of(config)
            if column is None:
                continue
            seen.append(column)
            if np.isfinite(value):  # a failed trial tells nothing about similarity
                columns.append(column)
                scores.append(value)
            else:
                failed.append(column)
        return columns, scores, seen, failed

    def _column_of(self, config: str | Mapping[str, Any]) -> int | None:
        if isinstance(config, str):
            if config not in self.config_index_:
                raise InvalidInputError(f"unknown config_id {config!r} in observed")
            return self.config_index_[config]
        if not isinstance(config, Mapping) or "learner" not in config:
            raise InvalidInputError("an observed configuration needs a 'learner' and 'params'")
        learner = str(config["learner"])
        params = dict(config.get("params") or {})
        candidates = np.flatnonzero(self.config_learners_ == learner)
        if candidates.size == 0:
            return None
        for c in candidates:
            if _same_params(self.configs_[c]["params"], params):
                return int(c)
        return self._nearest_config(learner, params, candidates)

    def _nearest_config(
        self, learner: str, params: Mapping[str, Any], candidates: np.ndarray
    ) -> int | None:
        from metaknowledge.exceptions import InvalidConfigError
        from metaknowledge.searchspace import encode

        task = self.task_type_
        try:
            target = encode(learner, params, task_type=task)
            points = np.stack(
                [encode(learner, self.configs_[c]["params"], task_type=task) for c in candidates]
            )
        except InvalidConfigError:
            return None
        return int(candidates[int(np.argmin(np.abs(points - target[None, :]).sum(axis=1)))])

    def _costlier_siblings(self, failed: list[int]) -> np.ndarray:
        """Mask of the configurations that share a failed one's learner and cost at least
        :data:`FAILED_COST_SHARE` of it by the KB's fit times (unknown costs rule nothing out)."""
        out = np.zeros(len(self.config_ids_), dtype=bool)
        for f in set(failed):
            with np.errstate(invalid="ignore"):
                costlier = self.log_cost_ >= self.log_cost_[f] + np.log(FAILED_COST_SHARE)
            out |= (self.config_learners_ == self.config_learners_[f]) & costlier
        return out

    def _posterior(
        self, prior: np.ndarray, columns: list[int], scores: list[float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior over KB datasets, the predicted score matrix, and each row's best-so-far.

        Each KB dataset ``j`` is a Gaussian-process prior for the new dataset's scores: mean
        ``P[j] + offset_j`` and covariance ``coupling * C + noise² I`` where ``C`` is the KB's
        configuration covariance (configurations that rise and fall together across datasets
        deviate together). Its weight is updated by the marginal likelihood of the observed scores
        and its predictions by the GP conditional mean, so a row is corrected towards what was
        measured rather than taken as it is.
        """
        base = self.filled_
        if not columns:
            return prior, base, self.worst_.copy()
        # Repeated measurements of one configuration share its latent score: n of them are
        # exactly one observation of their mean with noise² / n (the within-group spread does
        # not depend on the dataset or the offset). So the algebra is on distinct columns, at
        # most the KB's configuration count, however many trials a task has. 2,000 trials of 60
        # configurations: 2.4 s per recommend on the full 2,000² system, 12 ms grouped
        # (`python -m benchmarks.kb_speed`). The 10-minute load soak's 8 tasks gather ~280
        # trials each: ungrouped, that alone cost ~40 ms of API CPU per late recommendation.
        cols, group = np.unique(np.asarray(columns), return_inverse=True)
        counts = np.bincount(group)
        y = np.bincount(group, weights=np.asarray(scores, dtype=np.float64)) / counts
        gram = self.coupling * self.config_cov_[np.ix_(cols, cols)]
        gram[np.diag_indices_from(gram)] += self.noise**2 / counts
        inverse = np.linalg.inv(gram)
        residual = y[None, :] - base[:, cols]  # (n, t)
        ones = np.ones(len(cols))
        # Generalised-least-squares offset, shrunk towards 0 by its prior.
        offset = (residual @ inverse @ ones) / (ones @ inverse @ ones + self.offset_prior**-2)
        centred = residual - offset[:, None]
        loglik = -0.5 * np.einsum("it,ts,is->i", centred, inverse, centred)
        loglik -= 0.5 * offset**2 / self.offset_prior**2
        logpost = np.log(np.maximum(prior, 1e-300)) + loglik
        post = np.exp(logpost - logpost.max())
        gain = self.coupling * self.config_cov_[:, cols] @ inverse  # (m, t)
        predicted = base + offset[:, None] + centred @ gain.T
        current = np.maximum(self.worst_ + offset, predicted[:, cols].max(axis=1))
        return post / post.sum(), predicted, current

    # -- the public API --------------------------------------------------------------------------
    def recommend(
        self,
        metafeatures: Mapping[str, float],
        k: int,
        *,
        observed: Sequence[Observation] = (),
        learners: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """Up to ``k`` configurations to evaluate next on a dataset with these meta-features.

        ``metafeatures`` may hold any subset of qualities (unknown names are ignored); with none in
        common with the KB the recommendation falls back to the KB-wide portfolio. ``observed``
        holds the configurations already measured on this dataset with their scores (higher is
        better; NaN = failed): they are never proposed again and re-weight the similar datasets;
        a failed one also rules out the configurations of its learner that cost at least
        :data:`FAILED_COST_SHARE` as much on the KB (when the KB has fit times).
        ``learners`` restricts the proposals; a requested learner the KB has no runs of is proposed
        at its default configuration (``config_id`` None, ``predicted_score`` None).

        Raises:
            NotFittedError: ``fit`` was not called.
            InvalidInputError: ``k`` < 1, malformed ``observed`` or ``metafeatures``.
            UnknownLearnerError: a learner name that the search space does not define.
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        _, similarity = self._kernel(metafeatures)
        columns, scores, seen, failed = self._map_observations(observed)
        post, predicted, current = self._posterior(self._prior(similarity), columns, scores)

        allowed = np.ones(len(self.config_ids_), dtype=bool)
        missing_learners: list[str] = []
        if learners is not None:
            wanted = _check_learners(learners)
            allowed = np.isin(self.config_learners_, wanted)
            missing_learners = [w for w in wanted if w not in set(self.config_learners_)]
        allowed[seen] = False
        allowed[self._costlier_siblings(failed)] = False

        picks = _greedy_portfolio(predicted, post, current, self.range_, allowed, k, self.tiebreak_)
        out = [self._recommendation(c, post, predicted) for c in picks]
        for learner in missing_learners:
            if len(out) >= k:
                break
            out.append(_default_recommendation(learner, self.task_type_))
        return out

    def similar(self, metafeatures: Mapping[str, float], k: int) -> list[Neighbor]:
        """The ``k`` KB datasets closest to ``metafeatures``, closest first.

        ``distance`` is the weighted RMS difference of robust-scaled qualities both sides know;
        ``similarity`` = exp(-distance² / (2 bandwidth_²) - match_bonus_ * shape mismatches), in
        (0, 1] (see :class:`SimilarityKernel`). Datasets sharing no quality are left out.

        Raises:
            NotFittedError, InvalidInputError: as for :meth:`recommend`.
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        distance, similarity = self._kernel(metafeatures)
        order = np.lexsort((self.dataset_ids_, distance))
        return [
            Neighbor(
                dataset_id=int(self.dataset_ids_[j]),
                name=self.dataset_names_[j],
                distance=float(distance[j]),
                similarity=float(similarity[j]),
            )
            for j in order[:k]
            if np.isfinite(distance[j])
        ]

    def distances(
        self, query: Mapping[str, float], others: Sequence[Mapping[str, float]]
    ) -> list[float]:
        """Distances from ``query`` to datasets outside the KB (e.g. a service's past tasks).

        Same definition and scale as :meth:`similar`: the weighted RMS difference of the
        robust-scaled qualities both sides know; ``inf`` when they share none.

        Raises:
            NotFittedError, InvalidInputError: as for :meth:`recommend`.
        """
        self._check_fitted()
        if not isinstance(query, Mapping):
            raise InvalidInputError("metafeatures must be a mapping of quality name -> value")
        if not others:
            return []
        matrix = np.vstack([self.features_.vector(other) for other in others])
        return [float(d) for d in self.features_.distances(self.features_.vector(query), matrix)]

    def _recommendation(
        self, column: int, post: np.ndarray, predicted: np.ndarray
    ) -> Recommendation:
        values = predicted[:, column]
        known = np.isfinite(values)
        weight = post * known
        score = (
            float((weight * np.where(known, values, 0.0)).sum() / weight.sum())
            if weight.sum() > 0
            else None
        )
        # Support = posterior weight times how close to that dataset's best the config came.
        raw = self.performance_[:, column]
        known = np.isfinite(raw)  # evidence only from runs that happened, never imputed cells
        normalised = np.where(known, (raw - self.worst_) / self.range_, 0.0)
        support = post * normalised
        top = np.argsort(-support, kind="stable")[: self.n_evidence]
        peak = post.max()
        evidence = tuple(
            Evidence(
                dataset_id=int(self.dataset_ids_[j]),
                name=self.dataset_names_[j],
                similarity=float(post[j] / peak),
                score=float(raw[j]),
            )
            for j in top
            if known[j]
        )
        config = self.configs_[column]
        return Recommendation(
            config_id=self.config_ids_[column],
            learner=str(config["learner"]),
            params=dict(config["params"]),
            predicted_score=score,
            evidence=evidence,
        )


def _greedy_portfolio(
    predicted: np.ndarray,
    weights: np.ndarray,
    current: np.ndarray,
    scale: np.ndarray,
    allowed: np.ndarray,
    k: int,
    tiebreak: np.ndarray,
) -> list[int]:
    """Greedily pick ``k`` columns maximising the weighted expected normalised improvement.

    ``predicted`` must be finite (the model imputes unknown cells). One in-place pass and one
    matrix-vector product per pick: median 0.54 ms for k=5 on the bundled KB, against 4.3 ms for
    the plain broadcast-and-sum form (measured side by side on this 2-core machine).
    """
    w = weights / scale
    cur = current.copy()
    chosen: list[int] = []
    candidates = allowed.copy()
    diff = np.empty_like(predicted)
    for _ in range(min(k, int(candidates.sum()))):
        np.subtract(predicted, cur[:, None], out=diff)
        np.maximum(diff, 0.0, out=diff)
        gain = w @ diff + tiebreak
        gain[~candidates] = -np.inf
        c = int(np.argmax(gain))
        chosen.append(c)
        candidates[c] = False
        np.maximum(cur, predicted[:, c], out=cur)
    return chosen


def _observation_key(config: object) -> str | None:
    """A key under which equal observed configurations map to the same KB column (None: map it
    every time, e.g. a malformed one, so that its error is raised)."""
    if isinstance(config, str):
        return f"id:{config}"
    if not isinstance(config, Mapping) or "learner" not in config:
        return None
    try:
        return config_key(str(config["learner"]), dict(config.get("params") or {}))
    except (TypeError, ValueError):
        return None


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for key, value in a.items():
        other = b[key]
        if (
            isinstance(value, (int, float))
            and isinstance(other, (int, float))
            and not isinstance(value, bool)
            and not isinstance(other, bool)
        ):
            if not np.isclose(float(value), float(other), rtol=1e-9, atol=0.0):
                return False
        elif value != other:
            return False
    return True


def _check_learners(learners: Sequence[str]) -> list[str]:
    from metaknowledge.searchspace import get_learner

    if isinstance(learners, str):
        learners = [learners]
    out: list[str] = []
    for name in learners:
        get_learner(name)  # raises UnknownLearnerError with the known names
        if name not in out:
            out.append(name)
    if not out:
        raise UnknownLearnerError("learners is empty: name at least one learner")
    return out


def _log_costs(runtime: pd.DataFrame, config_ids: list[str]) -> np.ndarray:
    """Per configuration, the mean log fit time over the KB datasets that recorded one (NaN
    where none did): a geometric mean, so that large datasets do not decide alone."""
    if runtime.empty:
        return np.full(len(config_ids), np.nan)
    seconds = runtime.reindex(columns=config_ids).to_numpy(dtype=np.float64)
    logs = np.where(
        np.isfinite(seconds) & (seconds > 0), np.log(np.where(seconds > 0, seconds, 1)), np.nan
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # configurations never timed
        return np.nanmean(logs, axis=0)


def _incumbent_gap(dense: np.ndarray) -> float:
    """How far below a dataset's best an unknown configuration is taken to be, on incumbent rows:
    the median over the dense rows of (best - mean score), else :data:`INCUMBENT_GAP`."""
    if len(dense) == 0:
        return INCUMBENT_GAP
    gap = np.nanmax(dense, axis=1) - np.nanmean(dense, axis=1)
    return float(np.median(gap))


def _default_recommendation(learner: str, task_type: str) -> Recommendation:
    from metaknowledge.searchspace import default_config

    return Recommendation(
        config_id=None,
        learner=learner,
        params=default_config(learner, task_type=task_type),
        predicted_score=None,
        evidence=(),
    )
