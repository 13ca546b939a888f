"""The bundled snapshot and the snapshot format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from metaknowledge import KnowledgeBase, SnapshotError, load_knowledge_base
from metaknowledge.knowledge import default_snapshot_dir, read_snapshot, write_snapshot
from metaknowledge.searchspace import validate_params

from .kbfactory import make_kb


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_bundled_snapshot_holds_the_oboe_matrix(kb: KnowledgeBase) -> None:
    assert kb.performance.shape == (418, 219)
    assert kb.performance.index.name == "dataset_id"
    values = kb.performance.to_numpy()
    assert np.isfinite(values).all()
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert kb.metric == "balanced_accuracy" and kb.task_type == "classification"
    # kr-vs-kp (OpenML 3): its best configuration reaches > 0.99 balanced accuracy.
    assert kb.performance.loc[3].max() > 0.99
    assert len(kb.learners) == 12


def test_every_kb_config_is_a_canonical_point_of_the_search_space(kb: KnowledgeBase) -> None:
    for cid, config in kb.configs.items():
        assert cid in kb.performance.columns
        assert validate_params(config["learner"], config["params"]) == dict(config["params"])


def test_metafeatures_use_openml_names_and_cover_every_dataset_size(kb: KnowledgeBase) -> None:
    mf = kb.metafeatures
    assert set(mf.index) == set(kb.dataset_ids)
    assert mf["NumberOfInstances"].notna().all()
    assert mf["NumberOfFeaturesAfterEncoding"].notna().all()
    assert mf.loc[3, "NumberOfClasses"] == 2 and mf.loc[3, "NumberOfInstances"] == 3196
    assert {"ClassEntropy", "MeanMutualInformation", "NaiveBayesErrRate"} <= set(mf.columns)
    assert kb.datasets.loc[3, "name"] == "kr-vs-kp"


def test_snapshot_is_small_and_carries_its_provenance(kb: KnowledgeBase) -> None:
    directory = default_snapshot_dir()
    size = sum(p.stat().st_size for p in directory.iterdir())
    assert size < 5_000_000
    packages = {(p.package, p.version) for p in kb.provenance}
    assert packages == {("oboe", "0.2.0"), ("lcdb", "0.1.0")}
    assert all(len(p.sha256) == 64 for p in kb.provenance)
    notice = (directory.parent.parent / "NOTICE").read_text()
    assert "Chengrun Yang" in notice and "Felix Mohr" in notice
    for p in kb.provenance:
        assert p.sha256 in notice


def test_without_forgets_the_held_out_datasets(kb: KnowledgeBase) -> None:
    held = kb.without([3, 6, 999999])
    assert 3 not in held.performance.index and 3 not in held.metafeatures.index
    assert 3 not in held.datasets.index
    assert held.performance.shape == (417, 219)
    assert kb.performance.shape == (418, 219)  # the original is untouched


def test_summary_counts(kb: KnowledgeBase) -> None:
    summary = kb.summary()
    assert summary["n_datasets"] == 418 and summary["n_configs"] == 219
    assert summary["n_runs"] == 418 * 219
    assert sum(summary["learners"].values()) == 219
    json.dumps(summary)


def test_round_trip(tmp_path: Path) -> None:
    kb = make_kb()
    write_snapshot(kb, tmp_path)
    back = read_snapshot(tmp_path)
    assert back.performance.equals(kb.performance)
    assert back.metafeatures.equals(kb.metafeatures)
    assert dict(back.configs) == dict(kb.configs)
    assert back.version == kb.version and back.provenance == kb.provenance
    assert math.isnan(back.metafeatures.iloc[3]["ClassEntropy"])


def test_corrupt_arrays_are_refused(tmp_path: Path) -> None:
    write_snapshot(make_kb(), tmp_path)
    data = bytearray((tmp_path / "snapshot.npz").read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "snapshot.npz").write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="checksum"):
        read_snapshot(tmp_path)


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    write_snapshot(make_kb(), tmp_path)
    manifest = json.loads((tmp_path / "snapshot.json").read_text())
    manifest["schema_version"] = 99
    (tmp_path / "snapshot.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="schema version 99"):
        read_snapshot(tmp_path)


def test_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no knowledge-base snapshot"):
        load_knowledge_base(tmp_path / "nowhere")
