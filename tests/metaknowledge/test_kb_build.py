"""Fetching, verifying and converting the pinned sources (offline: archives made here)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from metaknowledge import SourceError
from metaknowledge.knowledge._build import (
    config_id_for,
    convert_lcdb_qualities,
    convert_oboe,
    fetch_artifact,
    read_member,
)
from metaknowledge.knowledge._sources import SOURCES, SourceArtifact

ERRORS = (
    b",\"{'algorithm': 'RF', 'hyperparameters': {'min_samples_split': 2, 'criterion': 'gini'}}\","
    b"\"{'algorithm': 'Logit', 'hyperparameters': {'C': 1, 'solver': 'liblinear', "
    b"'penalty': 'l1'}}\"\n"
    b"61,0.05,0.10\n3,0.01,0.20\n"
)
RUNTIME = ERRORS.replace(b"0.05,0.10", b"1.5,0.2").replace(b"0.01,0.20", b"3.0,0.4")
SIZES = b",0,1\n3,3196,74\n61,150,4\n"


def test_convert_oboe_turns_errors_into_balanced_accuracy() -> None:
    perf, runtime, mf, configs = convert_oboe(ERRORS, RUNTIME, SIZES)
    assert list(perf.index) == [3, 61]
    rf = config_id_for("oboe", "random_forest", {"min_samples_split": 2, "criterion": "gini"})
    assert rf == "oboe:random_forest:criterion=gini,min_samples_split=2"
    assert perf.loc[61, rf] == pytest.approx(0.95)
    assert runtime.loc[3, rf] == pytest.approx(3.0)
    assert mf.loc[3, "NumberOfFeaturesAfterEncoding"] == 74
    logit = next(c for c in configs if "logistic" in c)
    assert configs[logit]["params"]["C"] == 1.0 and configs[logit]["params"]["penalty"] == "l1"


def test_convert_oboe_rejects_unknown_learners_and_mismatched_tables() -> None:
    with pytest.raises(SourceError, match="unreadable configuration"):
        convert_oboe(ERRORS.replace(b"'RF'", b"'XYZ'"), RUNTIME.replace(b"'RF'", b"'XYZ'"), SIZES)
    with pytest.raises(SourceError, match="different datasets"):
        convert_oboe(ERRORS, RUNTIME, b",0,1\n3,3196,74\n")


def test_convert_lcdb_keeps_openml_qualities() -> None:
    csv = b"openmlid,Name,ClassEntropy,NumberOfInstances\n3,kr-vs-kp,0.998,3196\n61,iris,1.58,150\n"
    qualities, names = convert_lcdb_qualities(csv)
    assert names[61] == "iris"
    assert qualities.loc[3, "ClassEntropy"] == pytest.approx(0.998)
    with pytest.raises(SourceError):
        convert_lcdb_qualities(b"a,b\n1,2\n")


def _artifact(tmp_path: Path, kind: str) -> tuple[SourceArtifact, bytes]:
    payload = b"hello"
    buffer = io.BytesIO()
    if kind == "wheel":
        filename = "pkg-1.0-py3-none-any.whl"
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("pkg/data.csv", payload)
    else:
        filename = "pkg-1.0.tar.gz"
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            info = tarfile.TarInfo("pkg-1.0/pkg/data.csv")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    blob = buffer.getvalue()
    member = "pkg/data.csv" if kind == "wheel" else "pkg-1.0/pkg/data.csv"
    artifact = SourceArtifact(
        source="pkg",
        package="pkg",
        version="1.0",
        filename=filename,
        sha256=hashlib.sha256(blob).hexdigest(),
        licence="MIT",
        members={"data": (member, hashlib.sha256(payload).hexdigest())},
    )
    return artifact, blob


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_fetch_downloads_once_and_verifies(tmp_path: Path, kind: str) -> None:
    artifact, blob = _artifact(tmp_path, kind)
    calls: list[str] = []

    def download(a: SourceArtifact, directory: Path) -> None:
        calls.append(a.requirement)
        (directory / a.filename).write_bytes(blob)

    path = fetch_artifact(artifact, tmp_path, download=download)
    assert read_member(artifact, path, "data") == b"hello"
    fetch_artifact(artifact, tmp_path, download=download)
    assert calls == ["pkg==1.0"]


def test_tampered_download_is_rejected_and_removed(tmp_path: Path) -> None:
    artifact, blob = _artifact(tmp_path, "wheel")

    def download(a: SourceArtifact, directory: Path) -> None:
        (directory / a.filename).write_bytes(blob + b"x")

    with pytest.raises(SourceError, match="does not match the pinned"):
        fetch_artifact(artifact, tmp_path, download=download)
    assert not (tmp_path / artifact.filename).exists()


def test_failed_download_is_a_source_error(tmp_path: Path) -> None:
    artifact, _ = _artifact(tmp_path, "wheel")
    with pytest.raises(SourceError, match="did not produce"):
        fetch_artifact(artifact, tmp_path, download=lambda a, d: None)


def test_member_checksum_is_checked(tmp_path: Path) -> None:
    artifact, blob = _artifact(tmp_path, "wheel")
    (tmp_path / artifact.filename).write_bytes(blob)
    bad = SourceArtifact(**{**artifact.__dict__, "members": {"data": ("pkg/data.csv", "0" * 64)}})
    with pytest.raises(SourceError, match="pinned sha256"):
        read_member(bad, tmp_path / artifact.filename, "data")


def test_pins_are_exact_versions_with_checksums() -> None:
    assert [s.requirement for s in SOURCES] == ["oboe==0.2.0", "lcdb==0.1.0"]
    for source in SOURCES:
        assert len(source.sha256) == 64
        assert all(len(digest) == 64 for _, digest in source.members.values())
