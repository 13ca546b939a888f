"""The loop learns: after studies on a family of datasets and a refit, a new member of the family
gets recommendations with lower regret (``benchmarks.learning_loop``, made small).

Real service (API app, worker, Optuna, the bundled knowledge base, the refit), real
cross-validation of the recommended configurations on the new dataset. It fails when the refit
does not take the tenant's history into account (the bundled model ranks a decision tree first
on this family, where Gaussian naive Bayes is best by about 0.1 balanced accuracy).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from benchmarks.learning_loop import run_loop
from service.app import create_app
from service.config import Settings


@pytest.mark.slow
def test_a_new_member_of_a_tuned_family_gets_better_recommendations(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(metamodel_poll_s=0)  # the bundled knowledge base
    with TestClient(create_app(settings)) as client:
        result = run_loop(
            client, members=3, trials=6, new=1, rows=160, controls=(), reference_grid=False
        )
    assert [s["status"] for s in result["studies"]] == ["succeeded"] * 3
    tenant = [v for v in result["refit"]["versions"] if v["scope"] == "tenant"]
    assert len(tenant) == 1 and tenant[0]["rows_by_source"]["service"]["datasets"] == 3

    (new,) = result["datasets"]
    before, after = new["before"], new["after"]
    assert before["metamodel_version"].startswith("2026") or "+mm." in before["metamodel_version"]
    assert after["metamodel_version"] == tenant[0]["version"]
    assert before["regret"]["@1"] >= 0.05, "premise: the bundled model's first pick is poor here"
    assert after["regret"]["@1"] <= before["regret"]["@1"] - 0.05, (before, after)
    assert after["regret"]["@3"] <= before["regret"]["@3"]
