"""Fixtures of the service tests: tiny generated tables, a tiny knowledge base, the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_testdata import make_knowledge_base

from metaknowledge import KnowledgeBase
from metaknowledge.metamodel import MetaModel
from service.advisor import Advisor
from service.app import create_app
from service.config import Settings


@pytest.fixture(scope="session")
def tiny_kb() -> KnowledgeBase:
    return make_knowledge_base()


@pytest.fixture(scope="session")
def advisor(tiny_kb: KnowledgeBase) -> Advisor:
    return Advisor(tiny_kb, MetaModel(random_state=0).fit(tiny_kb))


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings on the test database with a private data directory; keyword overrides."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "home": tmp_path / "home",
            "database_url": database_url,
            "cv_folds": 3,
            "trial_timeout_s": 0,
            "worker_poll_s": 0.1,
            "freeze_gc": False,  # hundreds of apps in one process: see test_app_freezes_gc
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings, advisor: Advisor) -> Iterator[TestClient]:
    """The real app (tiny meta-model injected) on the test database."""
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client
