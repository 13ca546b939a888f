"""The end-to-end warm-start benchmark: does meta-learning save trials on real data?

    python -m benchmarks.e2e DATA_DIR --trials 50 --seeds 3 [--task classification|regression]
        [--datasets N] [--max-rows 50000] [--jobs 2] [--out results/e2e] [--quick]
        [--strategies NAME ...] [--readme README.md]

For each dataset of DATA_DIR and each seed, every strategy (``warmstart``, ``tpe``, ``random``,
``defaults``, ``knn-warmstart``, ``flaml-zeroshot``) gets the same search space, CV splits and
trial budget; trials run through the service's objective and executor. Results: one JSON file per
(dataset, seed, strategy) under ``OUT/runs`` (a rerun skips finished ones), then ``summary.json``,
``report.md`` and PNG plots in OUT. See ``docs/e2e.md``.
"""

from benchmarks.e2e._cli import main
from benchmarks.e2e._strategies import DEFAULT_STRATEGIES, STRATEGIES

__all__ = ["DEFAULT_STRATEGIES", "STRATEGIES", "main"]
