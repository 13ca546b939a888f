"""Finding the benchmark's datasets in a folder and reading them.

A data folder holds tables with a ``target`` column (``.csv``, ``.csv.gz``, ``.tsv``,
``.tsv.gz``) and, optionally, an ``inventory.csv`` (``name,n,p,task,openml_did``) as in the PMLB
mirror. Without an inventory every table is listed and its size and task type are read from the
file itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["TARGET", "DatasetEntry", "discover", "load_frame", "select"]

TARGET = "target"
_SUFFIXES = (".tsv.gz", ".csv.gz", ".tsv", ".csv")
_INVENTORY = "inventory.csv"


@dataclass(frozen=True)
class DatasetEntry:
    """One table of the data folder and what the inventory says about it."""

    name: str
    path: Path
    n_rows: int
    n_features: int
    task_type: str
    openml_did: int | None = None


def load_frame(path: Path) -> pd.DataFrame:
    """The table at ``path`` (tab-separated for ``.tsv``/``.tsv.gz``, else comma-separated)."""
    sep = "\t" if path.name.endswith((".tsv", ".tsv.gz")) else ","
    return pd.read_csv(path, sep=sep)


def _stem(path: Path) -> str:
    for suffix in _SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _table_for(data_dir: Path, name: str) -> Path | None:
    for suffix in _SUFFIXES:
        candidate = data_dir / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    number = float(str(value)) if not isinstance(value, int | float) else float(value)
    return None if math.isnan(number) else int(number)


def _from_inventory(data_dir: Path) -> list[DatasetEntry]:
    inventory = pd.read_csv(data_dir / _INVENTORY)
    entries = []
    for row in inventory.itertuples(index=False):
        path = _table_for(data_dir, str(row.name))
        if path is None:
            continue
        entries.append(
            DatasetEntry(
                name=str(row.name),
                path=path,
                n_rows=int(row.n),
                n_features=int(row.p),
                task_type=str(row.task),
                openml_did=_optional_int(getattr(row, "openml_did", None)),
            )
        )
    return entries


def _from_files(data_dir: Path) -> list[DatasetEntry]:
    from service.profiling import infer_task_type

    entries = []
    for path in sorted(data_dir.iterdir()):
        if path.name == _INVENTORY or not path.name.endswith(_SUFFIXES):
            continue
        frame = load_frame(path)
        if TARGET not in frame.columns:
            continue
        entries.append(
            DatasetEntry(
                name=_stem(path),
                path=path,
                n_rows=len(frame),
                n_features=frame.shape[1] - 1,
                task_type=infer_task_type(frame[TARGET]),
            )
        )
    return entries


def discover(data_dir: Path) -> list[DatasetEntry]:
    """Every table of ``data_dir`` (from its inventory when there is one), sorted by name.

    Raises:
        FileNotFoundError: ``data_dir`` is not a directory.
    """
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir} is not a directory")
    has_inventory = (data_dir / _INVENTORY).is_file()
    entries = _from_inventory(data_dir) if has_inventory else _from_files(data_dir)
    return sorted(entries, key=lambda e: e.name)


def select(
    entries: list[DatasetEntry],
    *,
    task_type: str,
    max_rows: int | None,
    count: int | None,
    spread: bool = True,
) -> list[DatasetEntry]:
    """The datasets of ``task_type`` with at most ``max_rows`` rows; ``count`` of them if given.

    With ``spread`` the ``count`` datasets are evenly spaced over the size order (small to large),
    so a slice is representative; otherwise the smallest are taken (quick runs).
    """
    eligible = [
        e
        for e in entries
        if e.task_type == task_type and (max_rows is None or e.n_rows <= max_rows)
    ]
    eligible.sort(key=lambda e: (e.n_rows * max(e.n_features, 1), e.name))
    if count is None or count >= len(eligible):
        return sorted(eligible, key=lambda e: e.name)
    if spread:
        picks = sorted({round(float(i)) for i in np.linspace(0, len(eligible) - 1, count)})
        chosen = [eligible[i] for i in picks]
    else:
        chosen = eligible[:count]
    return sorted(chosen, key=lambda e: e.name)
