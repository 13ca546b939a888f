"""The service's own history and meta-model versions: recording, refit, versions, tenancy.

Real studies (real worker, real Optuna) on the test database (SQLite, or PostgreSQL when
``WARMSTART_TEST_DATABASE_URL`` is set), the tiny public knowledge base as a snapshot on disk.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from service_testdata import (
    FAST_LEARNERS,
    SEEDED_METAFEATURES,
    classification_frame,
    make_knowledge_base,
    seed_task,
    to_csv,
)
from sqlalchemy import text
from typer.testing import CliRunner

from metaknowledge import KnowledgeBase
from metaknowledge.knowledge import write_snapshot
from service.app import create_app
from service.cli import app as cli_app
from service.config import Settings
from service.context import ServiceContext
from service.db import (
    DatasetRepository,
    HistoryRepository,
    MetamodelVersionRepository,
    RefitLeaseRepository,
    TaskRepository,
)
from service.errors import InvalidRequestError
from service.metamodels import ArtifactError, ModelRegistry, read_artifact
from service.operations.access import create_key
from service.operations.refit import RefitBusyError, VersionOutcome, refit
from service.runner import Worker


@pytest.fixture
def kb_dir(tmp_path: Path, tiny_kb: KnowledgeBase) -> Path:
    write_snapshot(tiny_kb, tmp_path / "kb")
    return tmp_path / "kb"


@pytest.fixture
def learning_settings(make_settings: Callable[..., Settings], kb_dir: Path) -> Settings:
    return make_settings(knowledge_base_dir=kb_dir, metamodel_poll_s=0)


@pytest.fixture
def app_client(learning_settings: Settings) -> Iterator[TestClient]:
    """The real app, loading the tiny snapshot itself (so stored versions can replace it)."""
    with TestClient(create_app(learning_settings)) as client:
        yield client


def _ctx(client: TestClient) -> ServiceContext:
    return client.app.state.context  # type: ignore[attr-defined,no-any-return]


def _study(
    client: TestClient,
    task_id: int,
    *,
    headers: dict[str, str] | None = None,
    n_trials: int = 3,
    warm_start: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Create a study through the API and run it with a real worker; its final state."""
    created = client.post(
        "/v1/studies",
        json={
            "task_id": task_id,
            "n_trials": n_trials,
            "warm_start": warm_start,
            "seed": seed,
            "learners": FAST_LEARNERS,
        },
        headers=headers or {},
    )
    assert created.status_code == 202, created.text
    Worker(_ctx(client), name="test-worker").run(exit_when_idle=True)
    done = client.get(f"/v1/studies/{created.json()['id']}", headers=headers or {})
    assert done.json()["status"] == "succeeded", done.text
    return done.json()  # type: ignore[no-any-return]


def _recommend(
    client: TestClient, task_id: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = client.post(
        f"/v1/tasks/{task_id}/recommendations", json={"k": 5}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _classification(outcomes: list[VersionOutcome]) -> list[VersionOutcome]:
    return [v for v in outcomes if v.task_type == "classification"]


def _bearer(client: TestClient, tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(_ctx(client), tenant, ['read', 'write']).key}"}


def _tenant_task(client: TestClient, headers: dict[str, str], frame: pd.DataFrame) -> int:
    """Upload as the key's tenant and define its task with fixed meta-features."""
    upload = client.post("/v1/datasets", files={"file": ("d.csv", to_csv(frame))}, headers=headers)
    assert upload.status_code in (200, 201), upload.text
    with _ctx(client).db.session() as session:
        dataset = DatasetRepository(session).get(upload.json()["id"], tenant_id=None)
        assert dataset is not None
        return (
            TaskRepository(session)
            .add(
                tenant_id=dataset.tenant_id,
                dataset_id=dataset.id,
                target="label",
                task_type="classification",
                metric="balanced_accuracy",
                metafeatures=dict(SEEDED_METAFEATURES),
            )
            .id
        )


# -- recording ---------------------------------------------------------------------------------
def test_a_succeeded_study_enters_the_history_with_provenance(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    task_id = seed_task(app_client, classification_frame(seed=1), "label")
    study = _study(app_client, task_id, n_trials=3)
    cancelled = app_client.post(
        "/v1/studies", json={"task_id": task_id, "n_trials": 5, "warm_start": 0}
    ).json()
    assert app_client.post(f"/v1/studies/{cancelled['id']}/cancel").status_code == 200

    with ctx.db.session() as session:
        history = HistoryRepository(session)
        studies = history.studies()
        trials = history.trials([s.id for s in studies])
    assert [s.study_id for s in studies] == [study["id"]]  # not the cancelled one
    recorded = studies[0]
    assert (recorded.source, recorded.cv_folds, recorded.tenant_id) == (
        "service",
        3,
        ctx.local_tenant_id,
    )
    assert recorded.source_version.startswith("warmstart ")
    assert recorded.metafeatures == SEEDED_METAFEATURES
    assert (recorded.task_type, recorded.metric) == ("classification", "balanced_accuracy")
    served = app_client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    assert [(t.number, t.learner, t.params, t.score) for t in trials] == [
        (t["number"], t["learner"], t["params"], t["score"]) for t in served
    ]


# -- refit and versions ------------------------------------------------------------------------
def test_refit_stores_public_and_tenant_versions_once(
    app_client: TestClient, learning_settings: Settings
) -> None:
    ctx = _ctx(app_client)
    task_id = seed_task(app_client, classification_frame(seed=2), "label")
    _study(app_client, task_id, n_trials=3)
    with ctx.db.session() as session:  # as if the study had succeeded before revision 0005
        session.execute(text("DELETE FROM ws_history_trials"))
        session.execute(text("DELETE FROM ws_history_studies"))

    report = refit(ctx)
    assert report.added_to_history == 1 and report.history_studies == 1
    public, tenant = _classification(report.versions)
    assert (public.status, public.tenant_id, public.base_version_id) == ("created", None, None)
    assert public.rows_by_source == {"test": {"datasets": 8, "runs": 64}}
    assert (tenant.status, tenant.tenant, tenant.base_version_id) == (
        "created",
        "local",
        public.version_id,
    )
    assert tenant.rows_by_source["service"]["datasets"] == 1
    assert tenant.history is not None and tenant.history["studies"] == 1
    assert tenant.history["runs"] == 3 and tenant.history["skipped"] == {}

    with ctx.db.session() as session:
        stored = MetamodelVersionRepository(session).get(tenant.version_id)
    assert stored is not None and stored.artifact == f"knowledge/versions/{tenant.version_id}"
    assert stored.params["source_weights"] == {"service": 8.0}  # share 0.5: 8 public / 1 own
    history_kb = read_artifact(stored, learning_settings.home)
    assert set(history_kb.datasets["source"]) == {"service"}  # a tenant's artifact: its history

    again = refit(ctx)
    assert {v.status for v in again.versions} == {"unchanged"}
    assert [v.version_id for v in again.versions] == [v.version_id for v in report.versions]
    with ctx.db.session() as session:
        assert len(MetamodelVersionRepository(session).all()) == len(report.versions)


def test_recommendations_and_studies_report_their_version(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    task_id = seed_task(app_client, classification_frame(seed=3), "label")
    snapshot_version = _recommend(app_client, task_id)["metamodel_version"]
    assert snapshot_version.startswith("test-kb-1+mm.")
    _study(app_client, task_id, n_trials=3)

    public, tenant = _classification(refit(ctx).versions)
    assert ctx.refresh_metamodels()  # what the watcher does in the background

    assert _recommend(app_client, task_id)["metamodel_version"] == tenant.label
    study = app_client.post(
        "/v1/studies", json={"task_id": task_id, "n_trials": 2, "warm_start": 2}
    ).json()
    assert study["metamodel_version"] == tenant.label
    assert app_client.get(f"/v1/studies/{study['id']}").json()["metamodel_version"] == tenant.label
    assert app_client.get("/v1/metaknowledge").json()["metamodel_version"] == public.label
    assert app_client.get("/v1/health").json()["metamodel"]["version"] == public.label


def test_a_tenants_history_informs_only_its_own_recommendations(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    team_a, team_b = _bearer(app_client, "team-a"), _bearer(app_client, "team-b")
    tuned = _tenant_task(app_client, team_a, classification_frame(seed=4))
    new_data = classification_frame(seed=40)  # both teams' next dataset: the same table
    task_a, task_b = (
        _tenant_task(app_client, team_a, new_data),
        _tenant_task(app_client, team_b, new_data),
    )
    a_before = _recommend(app_client, task_a, team_a)
    b_before = _recommend(app_client, task_b, team_b)
    assert a_before["items"] == b_before["items"]
    _study(app_client, tuned, headers=team_a, n_trials=4, seed=0)
    _study(app_client, tuned, headers=team_a, n_trials=4, seed=1)

    public, own = _classification(refit(ctx).versions)
    assert own.tenant == "team-a" and own.history is not None and own.history["studies"] == 2
    ctx.refresh_metamodels()

    a_after = _recommend(app_client, task_a, team_a)
    b_after = _recommend(app_client, task_b, team_b)
    assert a_after["metamodel_version"] == own.label
    assert b_after["metamodel_version"] == public.label
    # Same data, same meta-features: team-a's history changes its answer, never team-b's.
    assert b_after["items"] == b_before["items"]
    assert a_after["items"] != a_before["items"]

    def evidence(answer: dict[str, Any]) -> set[str]:
        return {e["name"] for item in answer["items"] for e in item["evidence"]}

    assert f"service task {tuned}" in evidence(a_after)
    assert not any(name.startswith("service task") for name in evidence(b_after))
    warm = app_client.post(
        "/v1/studies", json={"task_id": task_b, "n_trials": 2, "warm_start": 2}, headers=team_b
    ).json()
    assert warm["metamodel_version"] == public.label


def test_running_apps_load_a_new_version_in_the_background(
    make_settings: Callable[..., Settings], kb_dir: Path
) -> None:
    settings = make_settings(knowledge_base_dir=kb_dir, metamodel_poll_s=0.2)
    with TestClient(create_app(settings)) as client:
        task_id = seed_task(client, classification_frame(seed=5), "label")
        _study(client, task_id, n_trials=3)
        other = ServiceContext(settings)  # another process: `warmstart kb refit`
        try:
            _, tenant = _classification(refit(other).versions)
        finally:
            other.close()
        deadline = time.monotonic() + 20
        while _recommend(client, task_id)["metamodel_version"] != tenant.label:
            assert time.monotonic() < deadline, "the app did not pick up the new version"
            time.sleep(0.1)


def test_workers_refit_after_the_configured_number_of_studies(
    make_settings: Callable[..., Settings], kb_dir: Path
) -> None:
    settings = make_settings(knowledge_base_dir=kb_dir, refit_after_studies=2, metamodel_poll_s=0)
    with TestClient(create_app(settings)) as client:
        ctx = _ctx(client)
        task_id = seed_task(client, classification_frame(seed=6), "label")

        def versions() -> list[tuple[str, str]]:
            with ctx.db.session() as session:
                return [(v.label, v.trigger) for v in MetamodelVersionRepository(session).all()]

        _study(client, task_id, n_trials=2, seed=0)
        assert versions() == []
        _study(client, task_id, n_trials=2, seed=1)
        first = versions()
        assert first and {trigger for _, trigger in first} == {"auto"}
        with ctx.db.session() as session:
            state = RefitLeaseRepository(session).state()
        assert state.history_studies_refitted == 2 and state.lease_owner is None
        _study(client, task_id, n_trials=2, seed=2)
        assert versions() == first  # one new study: not yet


def test_one_refit_at_a_time(
    app_client: TestClient,
    learning_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx = _ctx(app_client)
    with ctx.db.session() as session:
        assert RefitLeaseRepository(session).claim("elsewhere:1", ttl_s=60)
    with pytest.raises(RefitBusyError, match="elsewhere:1"):
        refit(ctx)

    from service.cli import main

    for name, value in _cli_env(learning_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["warmstart", "kb", "refit"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: another refit is running (elsewhere:1") and err.count("\n") == 1

    with ctx.db.session() as session:  # a lease past its expiry is taken over
        leases = RefitLeaseRepository(session)
        leases.release("elsewhere:1", history_studies_refitted=None)
        assert leases.claim("elsewhere:1", ttl_s=-1)
    assert refit(ctx).versions


def test_concurrent_claims_give_the_lease_to_exactly_one(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    barrier = threading.Barrier(4)
    won: list[str] = []

    def claim(name: str) -> None:
        barrier.wait()
        with ctx.db.session() as session:
            if RefitLeaseRepository(session).claim(name, ttl_s=60):
                won.append(name)

    threads = [threading.Thread(target=claim, args=(f"p{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_a_tampered_artifact_is_not_served(
    app_client: TestClient, learning_settings: Settings
) -> None:
    ctx = _ctx(app_client)
    task_id = seed_task(app_client, classification_frame(seed=7), "label")
    _study(app_client, task_id, n_trials=3)
    public, tenant = _classification(refit(ctx).versions)
    manifest = learning_settings.home / "knowledge" / "versions" / str(tenant.version_id)
    (manifest / "snapshot.json").write_text(
        (manifest / "snapshot.json").read_text() + " ", encoding="utf-8"
    )
    with ctx.db.session() as session:
        record = MetamodelVersionRepository(session).get(tenant.version_id)
    assert record is not None
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        read_artifact(record, learning_settings.home)

    registry = ModelRegistry()
    assert registry.refresh(ctx.db, learning_settings.home) == [
        v.label for v in refit(ctx).versions if v.tenant_id is None
    ]
    assert (ctx.local_tenant_id, "classification") not in registry.loaded_versions
    served = registry.for_tenant(ctx.local_tenant_id, "classification")
    assert served is not None and served.version == public.label


def test_ingested_snapshots_join_the_public_knowledge(
    app_client: TestClient, learning_settings: Settings
) -> None:
    ctx = _ctx(app_client)
    ingested = make_knowledge_base(n_datasets=4, seed=9)
    shifted = pd.Index([i + 100 for i in ingested.dataset_ids], name="dataset_id")
    ingested = KnowledgeBase(
        performance=ingested.performance.set_axis(shifted),
        metafeatures=ingested.metafeatures.set_axis(shifted),
        configs=ingested.configs,
        runtime=pd.DataFrame(index=shifted),
        datasets=ingested.datasets.set_axis(shifted).assign(source="openml"),
        version="openml-test",
    )
    write_snapshot(ingested, learning_settings.home / "knowledge" / "openml")
    public = _classification(refit(ctx).versions)[0]
    assert public.rows_by_source == {
        "openml": {"datasets": 4, "runs": 32},
        "test": {"datasets": 8, "runs": 64},
    }
    assert public.kb_version == "test-kb-1+openml-test"

    broken = learning_settings.home / "knowledge" / "broken"
    broken.mkdir()
    (broken / "snapshot.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidRequestError, match="broken"):
        refit(ctx)


# -- CLI ---------------------------------------------------------------------------------------
def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "WARMSTART_HOME": str(settings.home),
        "WARMSTART_DATABASE_URL": settings.resolved_database_url,
        "WARMSTART_KNOWLEDGE_BASE_DIR": str(settings.knowledge_base_dir),
        "WARMSTART_CV_FOLDS": "3",
    }


def test_kb_refit_and_versions_commands(
    app_client: TestClient, learning_settings: Settings
) -> None:
    task_id = seed_task(app_client, classification_frame(seed=8), "label")
    _study(app_client, task_id, n_trials=3)
    env = _cli_env(learning_settings)
    runner = CliRunner()

    empty = runner.invoke(cli_app, ["kb", "versions"], env=env)
    assert empty.exit_code == 0 and "no stored meta-model versions" in empty.stdout

    done = runner.invoke(cli_app, ["kb", "refit", "--json"], env=env)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    public, tenant = [v for v in report["versions"] if v["task_type"] == "classification"]
    assert (public["scope"], public["status"], public["rows_by_source"]) == (
        "public",
        "created",
        {"test": {"datasets": 8, "runs": 64}},
    )
    assert (tenant["scope"], tenant["tenant"], tenant["base_version"]) == (
        "tenant",
        "local",
        public["version"],
    )
    assert tenant["rows_by_source"]["service"]["datasets"] == 1
    assert tenant["history"]["runs"] == 3  # trials; cells: configurations they landed on

    table = runner.invoke(cli_app, ["kb", "refit"], env=env)
    assert table.exit_code == 0 and "unchanged" in table.stdout and "tenant local" in table.stdout

    listed = runner.invoke(cli_app, ["kb", "versions", "--json"], env=env)
    items = json.loads(listed.stdout)["items"]
    assert [i["version"] for i in items] == [v["version"] for v in report["versions"]]
    assert all(i["served"] for i in items)
    assert items[1]["rows_by_source"]["service"]["datasets"] == 1
    text_out = runner.invoke(cli_app, ["kb", "versions"], env=env).stdout
    assert f"{tenant['version']}*" in text_out and "tenant local" in text_out
