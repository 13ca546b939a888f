"""Speed of the knowledge base and the meta-model: snapshot load, fit, recommend, similar.

    python -m benchmarks.kb_speed [--repeats 7] [--out results/kb_speed.json]

Prints a markdown table of medians and writes JSON. Targets (issue #2): load < 300 ms, fit on the
whole KB < 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metaknowledge import MetaModel, load_knowledge_base


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("results/kb_speed.json"))
    args = parser.parse_args(argv)

    kb = load_knowledge_base()
    model = MetaModel().fit(kb)
    query = kb.metafeatures.loc[3].dropna().to_dict()
    first = model.recommend(query, 10)
    observed = [(r.config_id, 0.8) for r in first]
    # A task tuned for weeks: 2,000 trials, repeating 60 configurations (as studies do).
    many = [(kb.config_ids[i % 60], 0.7 + (i % 7) / 100) for i in range(2000)]
    rows = {
        "load_knowledge_base": _median_seconds(load_knowledge_base, args.repeats),
        "MetaModel.fit(whole KB)": _median_seconds(lambda: MetaModel().fit(kb), args.repeats),
        "recommend(k=5)": _median_seconds(lambda: model.recommend(query, 5), args.repeats * 10),
        "recommend(k=5, 10 observed)": _median_seconds(
            lambda: model.recommend(query, 5, observed=observed), args.repeats * 10
        ),
        "recommend(k=5, 2,000 observed)": _median_seconds(
            lambda: model.recommend(query, 5, observed=many), args.repeats
        ),
        "similar(k=5)": _median_seconds(lambda: model.similar(query, 5), args.repeats * 10),
    }
    targets = {"load_knowledge_base": 0.3, "MetaModel.fit(whole KB)": 5.0}
    print("| operation | median ms | target ms |")
    print("|---|---|---|")
    for name, seconds in rows.items():
        target = f"{targets[name] * 1000:.0f}" if name in targets else ""
        print(f"| {name} | {seconds * 1000:.2f} | {target} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"median_seconds": rows, "targets_seconds": targets}, indent=2))
    return rows


if __name__ == "__main__":
    main()
