"""Reading and writing the versioned, self-describing knowledge-base snapshot.

A snapshot is a directory with two files (the bundled classification snapshot is in
``knowledge/data``, the regression one in ``knowledge/data/regression``):

- ``snapshot.json``: the manifest (schema version, snapshot version, metric, dataset ids and names,
  config ids and their ``{"learner", "params"}``, meta-feature names, provenance, and the sha256 of
  the array file);
- ``snapshot.npz``: the numeric blocks ``performance``, ``runtime``, ``metafeatures`` (no pickles:
  it is read with ``allow_pickle=False``).

Loading refuses a schema version it does not know, a checksum mismatch, or arrays whose shapes
disagree with the manifest (:class:`~metaknowledge.exceptions.SnapshotError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, SnapshotError
from metaknowledge.knowledge._kb import KnowledgeBase, Provenance

__all__ = [
    "SNAPSHOT_SCHEMA_VERSION",
    "default_snapshot_dir",
    "load_knowledge_base",
    "read_snapshot",
    "write_snapshot",
]

SNAPSHOT_SCHEMA_VERSION = 1
MANIFEST_NAME = "snapshot.json"
ARRAYS_NAME = "snapshot.npz"


def default_snapshot_dir(task_type: str = "classification") -> Path:
    """The directory of the snapshot bundled with the package for ``task_type``.

    Classification: ``knowledge/data``; regression: ``knowledge/data/regression``.

    Raises:
        InvalidInputError: ``task_type`` is neither ``"classification"`` nor ``"regression"``.
    """
    data = Path(__file__).resolve().parent / "data"
    if task_type == "classification":
        return data
    if task_type == "regression":
        return data / "regression"
    raise InvalidInputError(
        f"unknown task type {task_type!r}; expected 'classification' or 'regression'"
    )


def load_knowledge_base(
    path: str | os.PathLike[str] | None = None, *, task_type: str | None = None
) -> KnowledgeBase:
    """Load a knowledge base; by default the classification snapshot bundled with the package.

    ``task_type="regression"`` loads the bundled regression snapshot instead. With a ``path``,
    ``task_type`` (if given) is checked against the snapshot's.

    Raises:
        SnapshotError: the snapshot is missing, corrupt, or of an unknown schema version.
        InvalidInputError: an unknown ``task_type``, or a snapshot of another task type.
    """
    if path is None:
        return read_snapshot(default_snapshot_dir(task_type or "classification"))
    kb = read_snapshot(Path(path))
    if task_type is not None and kb.task_type != task_type:
        raise InvalidInputError(
            f"the snapshot at {path} holds {kb.task_type} run history, not {task_type}"
        )
    return kb


def write_snapshot(kb: KnowledgeBase, directory: str | os.PathLike[str]) -> Path:
    """Write ``kb`` as a snapshot into ``directory`` (created if needed); returns the manifest path.

    The array file is written first and the manifest last, each through a temporary file and an
    atomic rename, so a reader never sees a manifest whose arrays are missing.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        performance=kb.performance.to_numpy(dtype=np.float64),
        runtime=kb.runtime.to_numpy(dtype=np.float32),
        metafeatures=kb.metafeatures.to_numpy(dtype=np.float64),
        metafeature_index=np.asarray(kb.metafeatures.index, dtype=np.int64),
    )
    payload = buffer.getvalue()
    manifest: dict[str, Any] = {
        "schema_version": SNAPSHOT_SCHEMA_VERSION,
        "version": kb.version,
        "task_type": kb.task_type,
        "metric": kb.metric,
        "dataset_ids": kb.dataset_ids,
        "dataset_names": [str(n) for n in kb.datasets.reindex(kb.dataset_ids)["name"].fillna("")],
        "dataset_sources": [
            str(s) for s in kb.datasets.reindex(kb.dataset_ids)["source"].fillna("")
        ],
        "config_ids": kb.config_ids,
        "configs": {
            cid: {"learner": c["learner"], "params": dict(c["params"])}
            for cid, c in kb.configs.items()
        },
        "metafeature_names": [str(c) for c in kb.metafeatures.columns],
        "provenance": [p.as_dict() for p in kb.provenance],
        "arrays": {"file": ARRAYS_NAME, "sha256": hashlib.sha256(payload).hexdigest()},
    }
    _atomic_write(out / ARRAYS_NAME, payload)
    _atomic_write(
        out / MANIFEST_NAME, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    )
    return out / MANIFEST_NAME


def read_snapshot(directory: Path) -> KnowledgeBase:
    """Read a snapshot directory written by :func:`write_snapshot`.

    Raises:
        SnapshotError: see the module docstring.
    """
    manifest_path = directory / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"no knowledge-base snapshot at {directory}") from None
    except (OSError, ValueError) as e:
        raise SnapshotError(f"unreadable snapshot manifest {manifest_path}: {e}") from e
    schema = manifest.get("schema_version")
    if schema != SNAPSHOT_SCHEMA_VERSION:
        raise SnapshotError(
            f"snapshot schema version {schema!r} is not supported "
            f"(this code reads version {SNAPSHOT_SCHEMA_VERSION})"
        )
    arrays_path = directory / manifest["arrays"]["file"]
    try:
        payload = arrays_path.read_bytes()
    except OSError as e:
        raise SnapshotError(f"snapshot arrays missing: {arrays_path}") from e
    if hashlib.sha256(payload).hexdigest() != manifest["arrays"]["sha256"]:
        raise SnapshotError(f"snapshot arrays {arrays_path} do not match the manifest checksum")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            performance = npz["performance"]
            runtime = npz["runtime"]
            metafeatures = npz["metafeatures"]
            mf_index = npz["metafeature_index"]
    except (OSError, KeyError, ValueError) as e:
        raise SnapshotError(f"corrupt snapshot arrays {arrays_path}: {e}") from e

    dataset_ids = [int(i) for i in manifest["dataset_ids"]]
    config_ids = [str(c) for c in manifest["config_ids"]]
    names = [str(n) for n in manifest["metafeature_names"]]
    expected = (len(dataset_ids), len(config_ids))
    if performance.shape != expected or (runtime.size and runtime.shape != expected):
        raise SnapshotError(f"snapshot arrays have shape {performance.shape}, manifest {expected}")
    if metafeatures.shape != (len(mf_index), len(names)):
        raise SnapshotError("snapshot meta-feature block disagrees with the manifest")

    index = pd.Index(dataset_ids, name="dataset_id", dtype="int64")
    columns = pd.Index(config_ids, name="config_id", dtype=object)
    return KnowledgeBase(
        performance=pd.DataFrame(performance, index=index, columns=columns),
        runtime=pd.DataFrame(runtime.astype(np.float64), index=index, columns=columns)
        if runtime.size
        else pd.DataFrame(index=index),
        metafeatures=pd.DataFrame(
            metafeatures,
            index=pd.Index(mf_index.astype(np.int64), name="dataset_id"),
            columns=pd.Index(names, dtype=object),
        ),
        configs={cid: manifest["configs"][cid] for cid in config_ids},
        datasets=pd.DataFrame(
            {"name": manifest["dataset_names"], "source": manifest["dataset_sources"]}, index=index
        ),
        version=str(manifest["version"]),
        metric=str(manifest["metric"]),
        task_type=str(manifest["task_type"]),
        provenance=tuple(Provenance(**p) for p in manifest["provenance"]),
    )


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
