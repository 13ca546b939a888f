"""How fast is meta-feature extraction? Ours against pymfe on a synthetic mixed dataset.

Usage::

    python -m benchmarks.metafeatures_speed [--rows 100000] [--cols 50] [--repeats 5]
        [--seed 0] [--pymfe] [--pymfe-landmarking] [--pymfe-python PATH]
        [--pymfe-timeout 900] [--out results/metafeatures_speed.json]

The dataset (seeded) has 4/5 numeric columns (some skewed) and 1/5 categorical ones (half
``category`` dtype, half ``object`` strings, 2 to 30 levels), 5 % missing cells in every column and
5 classes.
Ours: the median wall time of ``extract_metafeatures_report`` (the default set) over the repeats,
plus the slowest feature groups. pymfe (optional, ``pip install pymfe==0.4.4``): groups general,
statistical, info-theory and model-based (and landmarking with ``--pymfe-landmarking``), run in a
subprocess with a timeout, on the same data with missing values imputed (mean / most frequent
level; pymfe does not accept NaN) and categorical columns as integer codes in ``cat_cols``. Use
``--pymfe-python`` to run pymfe with another interpreter (e.g. a venv where it installs).

Prints a markdown table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_CLASSES = 5
MISSING_RATE = 0.05
PYMFE_GROUPS = ("general", "statistical", "info-theory", "model-based")


def make_dataset(rows: int, cols: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """The seeded synthetic mixed dataset described in the module docstring."""
    rng = np.random.default_rng(seed)
    n_categorical = max(1, cols // 5)
    n_numeric = cols - n_categorical
    labels = rng.integers(0, N_CLASSES, rows)
    columns: dict[str, Any] = {}
    for j in range(n_numeric):
        values = rng.normal(size=rows) + 0.3 * labels * rng.normal()
        if j % 4 == 0:
            values = np.exp(values)  # a skewed one
        values[rng.random(rows) < MISSING_RATE] = np.nan
        columns[f"num{j}"] = values
    for j in range(n_categorical):
        levels = int(rng.integers(2, 31))
        codes = (rng.integers(0, levels, rows) + labels * (j % 3)) % levels
        text = np.array([f"level{k}" for k in range(levels)], dtype=object)[codes]
        text[rng.random(rows) < MISSING_RATE] = None
        series = pd.Series(text, dtype=object)
        columns[f"cat{j}"] = series.astype("category") if j % 2 == 0 else series
    target = pd.Series(np.array([f"class{k}" for k in range(N_CLASSES)])[labels], name="target")
    return pd.DataFrame(columns), target.astype("category")


def time_ours(X: pd.DataFrame, y: pd.Series, repeats: int) -> dict[str, Any]:
    """Median seconds of the default extraction, and the slowest groups of the median run."""
    from metaknowledge.metafeatures import extract_metafeatures_report

    reports = []
    for _ in range(repeats):
        reports.append(extract_metafeatures_report(X, y, random_state=0))
    runs = [report.total_seconds for report in reports]
    median_report = sorted(reports, key=lambda report: report.total_seconds)[len(reports) // 2]
    groups: dict[float, list[str]] = {}
    for name, seconds in median_report.seconds.items():
        groups.setdefault(seconds, []).append(name)
    slowest = sorted(groups.items(), reverse=True)[:8]
    return {
        "median_seconds": statistics.median(runs),
        "runs": runs,
        "n_features": len(median_report.values),
        "n_nan": sum(1 for value in median_report.values.values() if value != value),
        "slowest_groups": [{"seconds": seconds, "features": names} for seconds, names in slowest],
        "other_seconds": median_report.total_seconds - sum(groups),
    }


def _pymfe_arrays(X: pd.DataFrame, y: pd.Series) -> tuple[np.ndarray, np.ndarray, list[int]]:
    matrix = np.empty(X.shape, dtype=np.float64)
    categorical: list[int] = []
    for position, name in enumerate(X.columns):
        column = X[name]
        if pd.api.types.is_numeric_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64)
            matrix[:, position] = np.where(np.isnan(values), np.nanmean(values), values)
        else:
            codes, _ = pd.factorize(column, sort=True)
            mode = np.bincount(codes[codes >= 0]).argmax()
            matrix[:, position] = np.where(codes < 0, mode, codes)
            categorical.append(position)
    return matrix, pd.factorize(y, sort=True)[0], categorical


def _pymfe_worker(data_path: str, groups: list[str], repeats: int) -> None:
    """Runs in the subprocess: time pymfe on the saved arrays, print JSON (no metaknowledge)."""
    import warnings

    from pymfe.mfe import MFE  # type: ignore[import-not-found]

    warnings.filterwarnings("ignore")
    saved = np.load(data_path)
    X, y, categorical = saved["X"], saved["y"], saved["cat_cols"].tolist()
    runs, n_features, n_nan = [], 0, 0
    for _ in range(repeats):
        started = time.perf_counter()
        extractor = MFE(groups=groups, random_state=0)
        extractor.fit(X, y, cat_cols=categorical, suppress_warnings=True)
        names, values = extractor.extract(suppress_warnings=True)
        runs.append(time.perf_counter() - started)
        n_features = len(names)
        n_nan = sum(1 for value in values if value != value)
    print(json.dumps({"runs": runs, "n_features": n_features, "n_nan": n_nan}))


def time_pymfe(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    groups: tuple[str, ...],
    repeats: int,
    python: str,
    timeout: float,
) -> dict[str, Any]:
    """pymfe's median seconds, run by ``python`` in a subprocess killed after ``timeout``."""
    _progress(f"timing pymfe {'+'.join(groups)}: {repeats} runs, timeout {timeout:.0f} s")
    matrix, labels, categorical = _pymfe_arrays(X, y)
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "data.npz")
        np.savez(data_path, X=matrix, y=labels, cat_cols=np.asarray(categorical, dtype=np.int64))
        command = [
            python,
            str(Path(__file__).resolve()),
            "--pymfe-worker",
            data_path,
            "--pymfe-groups",
            ",".join(groups),
            "--repeats",
            str(repeats),
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return {"groups": list(groups), "status": f"timeout after {timeout:.0f} s"}
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-3:]
        return {"groups": list(groups), "status": "failed", "error": tail}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result.update(
        groups=list(groups), status="ok", median_seconds=statistics.median(result["runs"])
    )
    return result


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _table(ours: dict[str, Any], others: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        "| tool | meta-features | median s | ratio vs ours |",
        "| --- | ---: | ---: | ---: |",
        f"| warmstart (ours) | {ours['n_features']} | {ours['median_seconds']:.3f} | 1.0 |",
    ]
    for label, result in others:
        if result.get("status") == "ok":
            ratio = result["median_seconds"] / ours["median_seconds"]
            lines.append(
                f"| {label} | {result['n_features']} | {result['median_seconds']:.3f} "
                f"| {ratio:.1f} |"
            )
        else:
            lines.append(f"| {label} | - | {result.get('status')} | - |")
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pymfe", action="store_true", help="also time pymfe")
    parser.add_argument(
        "--pymfe-landmarking", action="store_true", help="also time pymfe's landmarking group"
    )
    parser.add_argument("--pymfe-python", default=sys.executable, help="interpreter with pymfe")
    parser.add_argument("--pymfe-repeats", type=int, default=None, help="default: --repeats")
    parser.add_argument("--pymfe-timeout", type=float, default=900.0, help="seconds per run set")
    parser.add_argument("--out", default="results/metafeatures_speed.json")
    parser.add_argument("--pymfe-worker", help=argparse.SUPPRESS)
    parser.add_argument("--pymfe-groups", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code."""
    args = _parse(argv)
    if args.pymfe_worker:
        _pymfe_worker(args.pymfe_worker, args.pymfe_groups.split(","), args.repeats)
        return 0

    X, y = make_dataset(args.rows, args.cols, args.seed)
    _progress(f"timing ours: {args.repeats} runs")
    ours = time_ours(X, y, args.repeats)
    _progress(f"ours: median {ours['median_seconds']:.3f} s")
    others: list[tuple[str, dict[str, Any]]] = []
    pymfe_repeats = args.pymfe_repeats or args.repeats
    if args.pymfe:
        others.append(
            (
                "pymfe 0.4.4 (" + "+".join(PYMFE_GROUPS) + ")",
                time_pymfe(
                    X,
                    y,
                    groups=PYMFE_GROUPS,
                    repeats=pymfe_repeats,
                    python=args.pymfe_python,
                    timeout=args.pymfe_timeout,
                ),
            )
        )
        if args.pymfe_landmarking:
            others.append(
                (
                    "pymfe 0.4.4 (landmarking)",
                    time_pymfe(
                        X,
                        y,
                        groups=("landmarking",),
                        repeats=pymfe_repeats,
                        python=args.pymfe_python,
                        timeout=args.pymfe_timeout,
                    ),
                )
            )

    print(f"dataset: {args.rows} rows x {args.cols} columns, {N_CLASSES} classes, seed {args.seed}")
    print(_table(ours, others))
    print("\nslowest feature groups (ours, median run):")
    for group in ours["slowest_groups"]:
        shown = ", ".join(group["features"][:3]) + (" ..." if len(group["features"]) > 3 else "")
        print(f"  {group['seconds']:.3f} s  {shown}")
    print(f"  {ours['other_seconds']:.3f} s  input validation and preparation")

    output = {
        "dataset": {
            "rows": args.rows,
            "cols": args.cols,
            "classes": N_CLASSES,
            "missing_rate": MISSING_RATE,
            "seed": args.seed,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "repeats": args.repeats,
        "ours": ours,
        "others": {label: result for label, result in others},
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output, indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
