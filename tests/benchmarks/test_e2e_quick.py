"""The end-to-end benchmark's ``--quick`` mode on tiny generated data: outputs, fields, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.e2e import main
from benchmarks.e2e._analysis import (
    Group,
    defaults_at_equal_cost,
    defaults_ceiling,
    expected_max_normal,
    incumbent,
    kb_configurations_regret,
    score_group,
    selection_noise,
    trials_to_reach,
)
from benchmarks.e2e._readme import END, START
from benchmarks.e2e._report import markdown_report
from benchmarks.e2e._worker import code_version

STRATEGIES = ["warmstart", "tpe", "random", "defaults", "knn-warmstart"]


def _table(rng: np.random.Generator, rows: int, features: int, classes: int) -> pd.DataFrame:
    X = rng.normal(size=(rows, features))
    signal = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.7, size=rows)
    edges = np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)]).round(4)
    frame["target"] = np.digitize(signal, edges)
    return frame


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small classification tables (two .tsv.gz, one CSV) with an inventory."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    shapes = {"tiny_a": (60, 3, 2), "tiny_b": (80, 4, 3), "tiny_c": (70, 5, 2)}
    rows = []
    for name, (n, p, k) in shapes.items():
        frame = _table(rng, n, p, k)
        if name == "tiny_c":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_csv(folder / f"{name}.tsv.gz", sep="\t", index=False)
        rows.append({"name": name, "n": n, "p": p, "task": "classification", "openml_did": ""})
    pd.DataFrame(rows).to_csv(folder / "inventory.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def quick_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    code = main(
        [str(data_dir), "--quick", "--jobs", "1", "--out", str(out), "--strategies", *STRATEGIES]
    )
    assert code == 0
    return out


def test_quick_writes_report_json_and_plots(quick_run: Path) -> None:
    for name in ("summary.json", "report.md", "regret_vs_trials.png", "warmstart_vs_tpe.png"):
        assert (quick_run / name).stat().st_size > 0, name
    summary = json.loads((quick_run / "summary.json").read_text())
    assert summary["datasets"] == ["tiny_a", "tiny_b", "tiny_c"]
    assert summary["n_groups"] == 3 and not summary["incomplete_groups"]
    assert summary["budgets"] == [1, 3, 5, 6]
    assert set(summary["strategies"]) == set(STRATEGIES)
    assert summary["holdout"]["n_datasets_in_kb"] == 0
    for entry in summary["strategies"].values():
        for budget in map(str, summary["budgets"]):
            regret, rank = entry["regret"][budget], entry["rank"][budget]
            assert 0.0 <= regret["low"] <= regret["mean"] <= regret["high"] <= 1.0
            assert 1.0 <= rank["mean"] <= len(STRATEGIES)
        assert entry["wall_s_per_trial"] > 0
    assert summary["strategies"]["defaults"]["point"] is True
    assert "trials_to_tpe_final" in summary["strategies"]["warmstart"]
    assert "| warmstart |" in (quick_run / "report.md").read_text()


def test_run_files_hold_every_trial(quick_run: Path) -> None:
    run = json.loads((quick_run / "runs" / "tiny_b" / "seed0" / "warmstart.json").read_text())
    assert run["settings"] == {"trials": 6, "folds": 3, "warm_k": 3}
    assert run["code_version"] == code_version() != ""
    assert len(run["trials"]) == 6
    assert [t["source"] for t in run["trials"][:3]] == ["warm_start"] * 3
    assert run["trials"][3]["source"] == "sampler"
    assert all(t["score"] is None or 0.0 <= t["score"] <= 1.0 for t in run["trials"])
    defaults = json.loads((quick_run / "runs" / "tiny_b" / "seed0" / "defaults.json").read_text())
    assert defaults["point"] is True and len(defaults["trials"]) > 5


def test_rerun_skips_finished_runs_and_updates_readme(
    quick_run: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    finished = quick_run / "runs" / "tiny_a" / "seed0" / "tpe.json"
    before = finished.stat().st_mtime_ns
    (quick_run / "runs" / "tiny_a" / "seed0" / "random.json").unlink()  # an interrupted run
    older = quick_run / "runs" / "tiny_b" / "seed0" / "knn-warmstart.json"  # from older code
    older.write_text(json.dumps({**json.loads(older.read_text()), "code_version": "0123abcd"}))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{START}\nold\n{END}\n\nafter\n")
    capsys.readouterr()
    code = main(
        [
            str(data_dir),
            "--quick",
            "--jobs",
            "1",
            "--out",
            str(quick_run),
            "--strategies",
            *STRATEGIES,
            "--readme",
            str(readme),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "14 runs already finished, 1 to do" in err
    assert finished.stat().st_mtime_ns == before
    assert (quick_run / "runs" / "tiny_a" / "seed0" / "random.json").is_file()
    text = readme.read_text()
    assert "\nold\n" not in text and "| warmstart |" in text and text.endswith("after\n")
    assert "regret_vs_trials.png" in text
    assert "The runs come from 2 code versions: 0123abcd: knn-warmstart (1);" in text


def test_failed_trials_count_as_worst_and_points_are_constant() -> None:
    def run(scores: list[float | None], point: bool = False) -> dict[str, object]:
        trials = [{"score": s, "duration_s": 0.1} for s in scores]
        return {"trials": trials, "point": point, "maximize": True, "wall_s": 1.0}

    group = Group(
        "d",
        0,
        {
            "a": run([None, 0.6, 0.9]),
            "b": run([0.5, 0.7, 0.8]),
            "defaults": run([0.55, 0.75], point=True),
        },
    )
    scores = score_group(group, 3)
    assert scores.regret["a"].tolist() == pytest.approx([1.0, 0.75, 0.0])
    assert scores.regret["defaults"].tolist() == pytest.approx([0.375] * 3)
    assert scores.rank["a"].tolist() == [3.0, 3.0, 1.0]
    assert np.isnan(incumbent(run([None, None]), 2)).all()
    assert trials_to_reach(np.array([0.5, 0.7, 0.8]), 0.7) == 2
    assert trials_to_reach(np.array([0.5, 0.6]), 0.7) is None


def _run(
    scores: list[float | None],
    *,
    point: bool = False,
    learners: str = "",
    sources: str = "",
    maximize: bool = True,
) -> dict[str, Any]:
    names: list[str | None] = list(learners.split()) or [None] * len(scores)
    kinds: list[str | None] = list(sources.split()) or [None] * len(scores)
    trials = [
        {"score": s, "learner": n, "source": k}
        for s, n, k in zip(scores, names, kinds, strict=True)
    ]
    return {"trials": trials, "point": point, "maximize": maximize}


def test_defaults_ceiling_bounds_what_one_configuration_can_beat() -> None:
    def group(
        dataset: str,
        seed: int,
        a: list[float | None],
        b: list[float | None],
        defaults: list[float | None],
    ) -> Group:
        return Group(
            dataset,
            seed,
            {
                "a": _run(a),
                "b": _run(b),
                "defaults": _run(defaults, point=True, learners="gb lr"),
                "other-point": _run([0.99], point=True),  # not a search: never the ceiling
            },
        )

    groups = [
        # d1: one search evaluation of four beats the best default (0.8) in both seeds.
        group("d1", 0, [0.5, 0.9], [0.6, 0.7], [0.8, 0.4]),
        group("d1", 1, [0.5, 0.85], [None, 0.7], [0.8, 0.4]),
        # d2: nothing the searches tried beats it (a tie is not a win).
        group("d2", 0, [0.6, 0.7], [0.7, 0.5], [0.5, 0.7]),
        # d3: every default failed, so it stands at the worst score (0.3) and is beaten.
        group("d3", 0, [0.3, 0.6], [None, None], [None, None]),
    ]
    context = defaults_ceiling(groups)
    assert context["n_datasets"] == 3
    assert context["best_evaluation_beats_fraction"] == pytest.approx(2 / 3)
    # d1: 1 of 4, then 1 of 3 successful evaluations beat 0.8; d2: none; d3: 1 of 2.
    d1 = (1 / 4 + 1 / 3) / 2
    assert context["evaluations_beating_share"] == pytest.approx((d1 + 0 + 1 / 2) / 3)
    # Regret on each group's full scale (0.99 the best, the worst score the worst).
    gb = [(0.99 - 0.8) / (0.99 - 0.4), (0.99 - 0.5) / (0.99 - 0.5), 1.0]
    lr = [1.0, (0.99 - 0.7) / (0.99 - 0.5), 1.0]
    assert list(context["learner_regret"]) == ["gb", "lr"]  # best first
    assert context["learner_regret"]["gb"] == pytest.approx(np.mean(gb))
    assert context["learner_regret"]["lr"] == pytest.approx(np.mean(lr))
    assert defaults_ceiling([Group("d", 0, {"a": _run([0.5])})]) == {}


def test_defaults_ceiling_reads_losses_as_lower_is_better() -> None:
    group = Group(
        "d",
        0,
        {
            "a": _run([0.5, 0.2], maximize=False),
            "defaults": _run([0.3, 0.6], point=True, learners="gb lr", maximize=False),
        },
    )
    context = defaults_ceiling([group])
    assert context["best_evaluation_beats_fraction"] == 1.0  # a loss of 0.2 beats 0.3
    assert context["evaluations_beating_share"] == pytest.approx(0.5)
    assert context["learner_regret"] == pytest.approx({"gb": 0.25, "lr": 1.0})


def test_defaults_at_equal_cost_reads_each_search_after_as_many_trials() -> None:
    def group(dataset: str, seed: int, warm: list[float | None], tpe: list[float | None]) -> Group:
        return Group(
            dataset,
            seed,
            {
                "warmstart": _run(warm),
                "tpe": _run(tpe),
                "defaults": _run([0.6, None, 0.7], point=True, learners="gb lr nb"),
                "flaml": _run([0.99], point=True),  # a point: not compared
            },
        )

    groups = [
        # d1: warmstart reaches 0.8 at its third trial (the defaults took 3), after it 0.9 no
        # longer counts; tpe ties the defaults' 0.7.
        group("d1", 0, [0.5, 0.6, 0.8, 0.9], [0.7, 0.1, 0.2, 0.95]),
        # d2: warmstart ties in one seed and falls short in the other (mean below); tpe has only
        # two trials, read at its last: a failure (the worst score) then 0.75.
        group("d2", 0, [0.7, 0.2, 0.3], [None, 0.75]),
        group("d2", 1, [0.65, None, None], [0.2, 0.75]),
    ]
    scored = [score_group(g, 4) for g in groups]
    found = defaults_at_equal_cost(groups, scored)
    assert found["n_evaluations"] == 3 and found["n_defaults"] == 3
    # Read at 2 trials, all the runs have: the report says so rather than claim equal cost.
    short = defaults_at_equal_cost(groups, [score_group(g, 2) for g in groups])
    assert short["n_evaluations"] == 2 and short["n_defaults"] == 3
    rendered = markdown_report(
        _summary_with(
            {"warmstart_first_beats_defaults": {"fraction": 0.0, "met": False, "equal_cost": short}}
        )
    )
    assert "after 2 trials (all a run has; the defaults took 3): warmstart beats it on" in rendered
    assert set(found["strategies"]) == {"warmstart", "tpe"}
    assert found["strategies"]["warmstart"] == {"beats": 0.5, "ties_or_beats": 0.5}
    assert found["strategies"]["tpe"] == {"beats": 0.5, "ties_or_beats": 1.0}
    no_defaults = [Group("d", 0, {"tpe": _run([0.2])})]
    assert defaults_at_equal_cost(no_defaults, [score_group(no_defaults[0], 1)]) == {}


def test_expected_max_of_normals_matches_known_values() -> None:
    assert expected_max_normal(1) == pytest.approx(0.0, abs=1e-9)
    assert expected_max_normal(2) == pytest.approx(1 / np.sqrt(np.pi), abs=1e-6)
    assert expected_max_normal(10) == pytest.approx(1.5388, abs=1e-3)
    assert expected_max_normal(50) == pytest.approx(2.2491, abs=1e-3)


def test_selection_noise_reads_the_spread_of_score_differences_across_seeds() -> None:
    def groups(dataset: str, gb: list[float], lr: list[float], nb: list[Any]) -> list[Group]:
        return [
            Group(
                dataset,
                seed,
                {
                    "tpe": _run([0.4, 0.9]),  # the span of each seed: 0.5
                    "defaults": _run(
                        [gb[seed], lr[seed], nb[seed]], point=True, learners="gb lr nb"
                    ),
                },
            )
            for seed in range(3)
        ]

    # d1: every score moves by the same split effect (0, +0.05, -0.03): it cancels, no noise.
    shared = groups("d1", [0.70, 0.75, 0.67], [0.60, 0.65, 0.57], [0.5, None, 0.47])
    # d2: gb - lr is 0.10, 0.14, 0.12 (sd 0.02); gb - nb and lr - nb have one seed in common.
    noisy = groups("d2", [0.70, 0.74, 0.72], [0.60, 0.60, 0.60], [0.5, None, None])
    found = selection_noise(shared + noisy, few=10, many=50)
    assert found is not None
    sigma = 0.02 / np.sqrt(2)
    lift = expected_max_normal(50) - expected_max_normal(10)
    assert found["n_datasets"] == 2
    assert found["noise_share"] == pytest.approx((0 + sigma / 0.5) / 2)
    assert found["noise_share_max"] == pytest.approx(sigma / 0.5)
    assert found["selection_gain"] == pytest.approx((0 + sigma * lift / 0.5) / 2)
    # Noise as wide as the span, against the best of a thousand, is capped at regret 1.
    loud = groups("d3", [0.9, 0.4, 0.9], [0.4, 0.9, 0.4], [None, None, None])
    capped = selection_noise(loud, few=1, many=1000)
    assert capped is not None and capped["selection_gain"] == 1.0
    # One seed says nothing about the spread across splits.
    assert selection_noise(noisy[:1], few=10, many=50) is None
    assert selection_noise([Group("d", 0, {"tpe": _run([0.4])})], few=10, many=50) is None


def test_kb_configurations_regret_counts_only_knowledge_base_trials() -> None:
    groups = [
        Group(
            "d1",
            seed,
            {
                "warm": _run(
                    [0.6 + 0.1 * seed, None, 1.0], sources="warm_start warm_start sampler"
                ),
                "knn": _run([0.5, 0.7], sources="warm_start sampler"),
                "defaults": _run([0.9, 0.2], point=True, sources="defaults defaults"),
                "flaml": _run([0.95], point=True, sources="flaml"),
            },
        )
        for seed in (0, 1)
    ]
    # Scale 0.2..1.0; the best KB trial is 0.6 (seed 0), then 0.7 (seed 1): the defaults'
    # 0.9 and FLAML's 0.95 are not KB configurations.
    found = kb_configurations_regret(groups)
    assert found == pytest.approx({"regret": (0.4 / 0.8 + 0.3 / 0.8) / 2, "n_configurations": 3})
    failed = Group("d2", 0, {"warm": _run([None, 0.4, 0.9], sources="warm_start sampler sampler")})
    assert kb_configurations_regret([failed]) == {"regret": 1.0, "n_configurations": 1.0}
    only_sampled = [Group("d", 0, {"tpe": _run([0.2, 0.7], sources="sampler sampler")})]
    assert kb_configurations_regret(only_sampled) is None


def _summary_with(targets: dict[str, Any]) -> dict[str, Any]:
    regret = {"1": {"mean": 0.2, "low": 0.1, "high": 0.3}}
    return {
        "n_groups": 1,
        "datasets": ["d"],
        "seeds": [0],
        "budgets": [1],
        "settings": {"trials": 1, "folds": 5},
        "holdout": {"n_datasets_in_kb": 0, "by_reason": {}, "datasets": {}},
        "strategies_skipped": {},
        "incomplete_groups": [],
        "code_versions": {},
        "strategies": {
            "warmstart": {
                "point": False,
                "regret": regret,
                "rank": regret,
                "eval_s_per_trial": 1.0,
                "wall_s_per_trial": 1.0,
                "failed_fraction": 0.0,
                "trials_per_run": 1.0,
            }
        },
        "targets": targets,
    }


def test_report_states_the_targets_context_when_there_is_one() -> None:
    context = {
        "best_evaluation_beats_fraction": 0.88,
        "evaluations_beating_share": 0.12,
        "learner_regret": {"gb": 0.22, "lr": 0.3, "nb": 0.4},
        "n_datasets": 1,
    }
    first = {"fraction": 0.1, "met": False}
    equal = {
        "n_evaluations": 13,
        "strategies": {
            "warmstart": {"beats": 0.46, "ties_or_beats": 0.72},
            "tpe": {"beats": 0.27, "ties_or_beats": 0.46},
            "random": {"beats": 0.2, "ties_or_beats": 0.4},
        },
    }
    kb = {"regret": 0.05, "n_configurations": 20.0}
    at_10 = {"warmstart@10": 0.07, "tpe@50": 0.04, "met": False}
    noise = {
        "noise_share": 0.04,
        "noise_share_max": 0.13,
        "selection_gain": 0.027,
        "n_datasets": 1.0,
    }
    text = markdown_report(
        _summary_with(
            {
                "warmstart_first_beats_defaults": {
                    **first,
                    "context": context,
                    "equal_cost": equal,
                },
                "warmstart_at_10_vs_tpe_final": {
                    **at_10,
                    "kb_configurations": kb,
                    "selection_noise": noise,
                },
            }
        )
    )
    assert "beats the best default on 88% of datasets; 12% of the successful" in text
    assert "the best single default is gb (regret 0.220, the median learner's 0.300)" in text
    assert "warmstart's first trial: 0.200" in text
    assert (
        "at the defaults' own cost (13 trials, one per learner): warmstart beats it on 46% and "
        "at least ties it on 72%; tpe beats it on 27% and at least ties it on 46% of datasets"
    ) in text
    assert "random beats" not in text
    assert "(about 20 per dataset and seed): 0.050" in text
    assert "warmstart@10 (0.070) at or below tpe@50 (0.040): missed" in text
    assert "by 4% of a dataset's score range on average (13% at most;" in text
    assert "the best of 50 such estimates would beat the best of 10 by about 0.027" in text
    assert "(warmstart@10 - tpe@50: 0.030)" in text
    # A summary from before the context (or with an empty one) renders without it.
    for old in ({**first}, {**first, "context": {}}):
        text = markdown_report(
            _summary_with(
                {"warmstart_first_beats_defaults": old, "warmstart_at_10_vs_tpe_final": at_10}
            )
        )
        assert "first trial beats the best default on 10% of datasets" in text
        assert "upper bound" not in text and "in hindsight" not in text
        assert "own cost" not in text and "CV noise" not in text
