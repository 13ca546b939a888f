"""The results folder: one JSON file per (dataset, seed, strategy) run, written atomically.

``OUT/runs/<dataset>/seed<seed>/<strategy>.json``. A run whose file exists with the same settings is
finished and skipped on the next invocation (so an interrupted benchmark resumes); a file written
with other settings (trials, folds, warm-start size) is ignored and the run is redone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "load_run", "run_path", "write_json_atomic"]

SCHEMA_VERSION = 1


def run_path(out: Path, dataset: str, seed: int, strategy: str) -> Path:
    """Where the run of ``strategy`` on ``dataset`` at ``seed`` is stored."""
    return out / "runs" / dataset / f"seed{seed}" / f"{strategy}.json"


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_run(path: Path, settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored run at ``path`` if it is complete and was made with ``settings``, else None."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("schema") != SCHEMA_VERSION:
        return None
    if payload.get("settings") != dict(settings):
        return None
    return payload
