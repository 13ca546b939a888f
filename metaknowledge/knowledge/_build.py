"""Build the bundled snapshots from the pinned PyPI artifacts (``warmstart kb build``).

Steps: fetch each artifact with ``pip download --no-deps`` into a cache directory (or reuse a cached
copy), check its sha256 and the sha256 of every member we read, convert the members into one
:class:`KnowledgeBase` per task type (classification: Oboe + LCDB; regression: auto-sklearn, see
``_autosklearn``), and write each with :func:`write_snapshot`. Every step that touches files or
the network lives here; the converters are pure functions of bytes.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, SourceError
from metaknowledge.knowledge._autosklearn import MappingReport, convert_autosklearn
from metaknowledge.knowledge._kb import KnowledgeBase
from metaknowledge.knowledge._sources import (
    AUTOSKLEARN,
    LCDB,
    OBOE,
    REGRESSION_SNAPSHOT_VERSION,
    SNAPSHOT_VERSION,
    SourceArtifact,
)
from metaknowledge.searchspace import validate_params

__all__ = [
    "OBOE_LEARNERS",
    "build_knowledge_base",
    "build_regression_knowledge_base",
    "build_regression_snapshot",
    "build_snapshot",
    "config_id_for",
    "convert_lcdb_qualities",
    "convert_oboe",
    "default_cache_dir",
    "fetch_artifact",
    "notice_text",
    "read_member",
]

#: Oboe's learner names -> ours (``metaknowledge.searchspace`` names).
OBOE_LEARNERS: Mapping[str, str] = {
    "KNN": "knn",
    "DT": "decision_tree",
    "RF": "random_forest",
    "GBT": "gradient_boosting",
    "AB": "adaboost",
    "lSVM": "linear_svm",
    "kSVM": "kernel_svm",
    "Logit": "logistic_regression",
    "Perceptron": "perceptron",
    "GNB": "gaussian_nb",
    "MLP": "mlp",
    "ExtraTrees": "extra_trees",
}

#: Quality name under which Oboe's column count is stored: the table's width after one-hot
#: encoding of the predictors, plus one for the label column (as Oboe counted it).
ENCODED_WIDTH = "NumberOfFeaturesAfterEncoding"

Downloader = Callable[[SourceArtifact, Path], None]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pip_download(artifact: SourceArtifact, directory: Path) -> None:
    """Download ``artifact`` with ``pip download --no-deps`` (the ordinary PyPI client).

    Raises:
        SourceError: pip failed (no network, package missing); its last lines are in the message.
    """
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(directory),
        artifact.requirement,
    ]
    if not artifact.filename.endswith(".whl"):
        # The pin is the source distribution: never let pip pick a wheel instead.
        cmd[-1:-1] = ["--no-binary", artifact.package]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise SourceError(f"could not download {artifact.requirement}: {tail}")


def fetch_artifact(
    artifact: SourceArtifact, cache_dir: Path, *, download: Downloader = pip_download
) -> Path:
    """Path of a verified copy of ``artifact`` in ``cache_dir``, downloading it if absent.

    Raises:
        SourceError: the download failed, or the file's sha256 differs from the pinned one (the bad
            file is removed so the next attempt starts clean).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / artifact.filename
    if not path.exists():
        download(artifact, cache_dir)
        if not path.exists():
            raise SourceError(f"{artifact.requirement} did not produce {artifact.filename}")
    digest = _sha256(path.read_bytes())
    if digest != artifact.sha256:
        path.unlink(missing_ok=True)
        raise SourceError(
            f"{artifact.filename}: sha256 {digest} does not match the pinned {artifact.sha256}"
        )
    return path


def read_member(artifact: SourceArtifact, archive: Path, name: str) -> bytes:
    """The bytes of member ``name`` of ``artifact`` (a wheel or an sdist), checksum-verified.

    Raises:
        SourceError: the member is missing or its sha256 differs from the pinned one.
    """
    member, expected = artifact.members[name]
    try:
        if archive.name.endswith(".whl") or archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                data = zf.read(member)
        else:
            with tarfile.open(archive, "r:*") as tf:
                handle = tf.extractfile(member)
                if handle is None:
                    raise KeyError(member)
                data = handle.read()
    except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError) as e:
        raise SourceError(f"{archive.name}: cannot read {member}: {e}") from e
    if expected and _sha256(data) != expected:
        raise SourceError(f"{archive.name}:{member} does not match its pinned sha256")
    return data


def config_id_for(source: str, learner: str, params: Mapping[str, Any]) -> str:
    """A stable, readable id: ``source:learner:k=v,...`` with keys sorted."""
    body = ",".join(f"{k}={params[k]!r}".replace("'", "") for k in sorted(params))
    return f"{source}:{learner}:{body}" if body else f"{source}:{learner}"


def convert_oboe(
    error_csv: bytes, runtime_csv: bytes, sizes_csv: bytes
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, dict[str, Any]]]:
    """Oboe's matrices -> (performance, runtime, meta-features, configs).

    ``performance`` = 1 - balanced error rate; column headers such as
    ``{'algorithm': 'RF', 'hyperparameters': {...}}`` become config ids and configs with our
    learner names. Meta-features: ``NumberOfInstances`` and ``NumberOfFeaturesAfterEncoding``
    (Oboe's
    column count after one-hot encoding).

    Raises:
        SourceError: a header is not a configuration, a learner is unknown, or the tables'
            shapes or indexes differ.
    """
    errors = pd.read_csv(io.BytesIO(error_csv), index_col=0)
    runtime = pd.read_csv(io.BytesIO(runtime_csv), index_col=0)
    sizes = pd.read_csv(io.BytesIO(sizes_csv), index_col=0)
    if list(errors.columns) != list(runtime.columns):
        raise SourceError("oboe: error and runtime matrices have different configurations")
    if set(errors.index) != set(runtime.index) or set(errors.index) - set(sizes.index):
        raise SourceError("oboe: error, runtime and size tables cover different datasets")
    configs: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    for header in errors.columns:
        try:
            spec = ast.literal_eval(header)
            learner = OBOE_LEARNERS[spec["algorithm"]]
            params = dict(spec["hyperparameters"])
        except (ValueError, SyntaxError, KeyError, TypeError) as e:
            raise SourceError(f"oboe: unreadable configuration header {header!r}") from e
        cid = config_id_for("oboe", learner, params)
        if cid in configs:
            raise SourceError(f"oboe: duplicate configuration {cid}")
        try:
            # The id keeps Oboe's own values; the stored point is complete and canonical, so the
            # service can enqueue it as it is (e.g. C=1 -> 1.0, sklearn defaults filled in).
            point = validate_params(learner, params, task_type="classification")
        except InvalidInputError as e:
            raise SourceError(f"oboe: configuration {cid} is outside the search space: {e}") from e
        configs[cid] = {"learner": learner, "params": point}
        ids.append(cid)
    index = pd.Index(sorted(int(i) for i in errors.index), name="dataset_id")
    columns = pd.Index(ids, name="config_id", dtype=object)
    errors.index = errors.index.astype(int)
    runtime.index = runtime.index.astype(int)
    sizes.index = sizes.index.astype(int)
    performance = pd.DataFrame(
        1.0 - errors.loc[index].to_numpy(dtype=np.float64), index=index, columns=columns
    )
    fit_time = pd.DataFrame(
        runtime.loc[index].to_numpy(dtype=np.float64), index=index, columns=columns
    )
    size_values = sizes.loc[index].to_numpy(dtype=np.float64)
    metafeatures = pd.DataFrame(
        {"NumberOfInstances": size_values[:, 0], ENCODED_WIDTH: size_values[:, 1]}, index=index
    )
    return performance, fit_time, metafeatures, configs


def convert_lcdb_qualities(datasets_csv: bytes) -> tuple[pd.DataFrame, pd.Series]:
    """LCDB's ``datasets.csv`` -> (OpenML qualities indexed by dataset id, dataset names).

    Raises:
        SourceError: the id or name column is missing.
    """
    table = pd.read_csv(io.BytesIO(datasets_csv))
    if "openmlid" not in table or "Name" not in table:
        raise SourceError("lcdb: datasets.csv lacks the openmlid/Name columns")
    table = table.drop_duplicates("openmlid").set_index("openmlid")
    table.index = pd.Index(table.index.astype(int), name="dataset_id")
    names = table.pop("Name").astype(str)
    qualities = table.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return qualities, names


def build_knowledge_base(
    cache_dir: Path, *, download: Downloader = pip_download, version: str = SNAPSHOT_VERSION
) -> KnowledgeBase:
    """Fetch, verify and convert the pinned sources into one :class:`KnowledgeBase`.

    Meta-features are merged per dataset: LCDB's OpenML qualities where LCDB knows the dataset,
    Oboe's instance count and encoded width for every dataset of the run history.

    Raises:
        SourceError: a source cannot be fetched or fails verification or conversion.
    """
    oboe_path = fetch_artifact(OBOE, cache_dir, download=download)
    lcdb_path = fetch_artifact(LCDB, cache_dir, download=download)
    performance, runtime, oboe_mf, configs = convert_oboe(
        read_member(OBOE, oboe_path, "error_matrix"),
        read_member(OBOE, oboe_path, "runtime_matrix"),
        read_member(OBOE, oboe_path, "dataset_sizes"),
    )
    qualities, names = convert_lcdb_qualities(read_member(LCDB, lcdb_path, "datasets"))
    # Only datasets with run history: a meta-feature row without runs cannot support a proposal.
    qualities = qualities.reindex(performance.index)
    metafeatures = qualities.copy()
    metafeatures[ENCODED_WIDTH] = oboe_mf[ENCODED_WIDTH]
    known = metafeatures["NumberOfInstances"].notna()
    mismatch = known & (metafeatures["NumberOfInstances"] != oboe_mf["NumberOfInstances"])
    if mismatch.any():
        raise SourceError(
            f"oboe and lcdb disagree on NumberOfInstances for {list(metafeatures.index[mismatch])}"
        )
    metafeatures["NumberOfInstances"] = oboe_mf["NumberOfInstances"]
    metafeatures = metafeatures.dropna(axis=1, how="all")
    datasets = pd.DataFrame(
        {
            "name": [names.get(i, f"openml-{i}") for i in performance.index],
            "source": ["oboe" for _ in performance.index],
        },
        index=performance.index,
    )
    provenance = tuple(
        artifact.provenance(member)
        for artifact, member in (
            (OBOE, "error_matrix"),
            (OBOE, "runtime_matrix"),
            (OBOE, "dataset_sizes"),
            (LCDB, "datasets"),
        )
    )
    return KnowledgeBase(
        performance=performance,
        metafeatures=metafeatures,
        configs=configs,
        runtime=runtime,
        datasets=datasets,
        version=version,
        metric="balanced_accuracy",
        task_type="classification",
        provenance=provenance,
    )


def default_cache_dir() -> Path:
    """``$WARMSTART_CACHE`` or ``~/.cache/warmstart/sources``."""
    env = os.environ.get("WARMSTART_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "warmstart" / "sources"


def notice_text(
    licences: Mapping[str, str], artifacts: tuple[SourceArtifact, ...] = (OBOE, LCDB, AUTOSKLEARN)
) -> str:
    """The NOTICE for the snapshots: provenance of every member read, then each licence in full.

    ``licences`` maps a source name to its licence text as shipped in its distribution.
    """
    lines = [
        "warmstart bundles knowledge bases derived from the following third-party data",
        "(classification: oboe and lcdb; regression: auto-sklearn).",
        "They were produced by `warmstart kb build` from these exact files:",
        "",
    ]
    for artifact in artifacts:
        lines.append(
            f"* {artifact.package} {artifact.version} ({artifact.licence}), "
            f"{artifact.filename} sha256 {artifact.sha256}"
        )
        lines.append(f"  {artifact.description}")
        for logical, (member, digest) in artifact.members.items():
            if logical != "licence":
                lines.append(f"  - {member} sha256 {digest}")
        lines.append("")
    for artifact in artifacts:
        lines.append("-" * 72)
        lines.append(f"Licence of {artifact.package} {artifact.version} ({artifact.licence}):")
        lines.append("")
        lines.append(licences[artifact.source].strip())
        lines.append("")
    return "\n".join(lines)


def build_snapshot(
    cache_dir: Path,
    out_dir: Path,
    notice_path: Path | None = None,
    *,
    download: Downloader = pip_download,
) -> KnowledgeBase:
    """Build the knowledge base, write it to ``out_dir`` and the NOTICE to ``notice_path``.

    Raises:
        SourceError: see :func:`build_knowledge_base`.
    """
    from metaknowledge.knowledge._snapshot import write_snapshot

    kb = build_knowledge_base(cache_dir, download=download)
    if notice_path is not None:
        licences = {
            a.source: read_member(
                a, fetch_artifact(a, cache_dir, download=download), "licence"
            ).decode("utf-8")
            for a in (OBOE, LCDB, AUTOSKLEARN)
        }
        notice_path.write_text(notice_text(licences), encoding="utf-8")
    write_snapshot(kb, out_dir)
    return kb


def build_regression_knowledge_base(
    cache_dir: Path,
    *,
    download: Downloader = pip_download,
    version: str = REGRESSION_SNAPSHOT_VERSION,
    artifact: SourceArtifact = AUTOSKLEARN,
) -> tuple[KnowledgeBase, MappingReport]:
    """Fetch, verify and convert auto-sklearn's regression scenario into a regression KB.

    Returns the knowledge base (metric ``r2``, one run per dataset: see ``_autosklearn``) and the
    report of what the mapping could not carry over. ``artifact`` names the distribution and
    its members ``algorithm_runs``, ``configurations``, ``feature_values`` and ``description``.

    Raises:
        SourceError: the artifact cannot be fetched or fails verification or conversion.
    """
    path = fetch_artifact(artifact, cache_dir, download=download)
    members = ("algorithm_runs", "configurations", "feature_values", "description")
    conversion = convert_autosklearn(
        *(read_member(artifact, path, m) for m in members), config_id=config_id_for
    )
    provenance = tuple(artifact.provenance(m) for m in members[:3])
    kb = KnowledgeBase(
        performance=conversion.performance,
        metafeatures=conversion.metafeatures,
        configs=conversion.configs,
        runtime=pd.DataFrame(index=conversion.performance.index),
        datasets=conversion.datasets,
        version=version,
        metric="r2",
        task_type="regression",
        provenance=provenance,
    )
    return kb, conversion.report


def build_regression_snapshot(
    cache_dir: Path, out_dir: Path, *, download: Downloader = pip_download
) -> tuple[KnowledgeBase, MappingReport]:
    """Build the regression knowledge base and write it to ``out_dir``.

    Raises:
        SourceError: see :func:`build_regression_knowledge_base`.
    """
    from metaknowledge.knowledge._snapshot import write_snapshot

    kb, report = build_regression_knowledge_base(cache_dir, download=download)
    write_snapshot(kb, out_dir)
    return kb, report
