"""The report's figures (PNG, matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["plot_regret_curves", "plot_warmstart_vs_tpe"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_regret_curves(summary: Mapping[str, Any], path: Path) -> None:
    """Mean normalised regret vs trials (log x) per strategy, with the 95% band.

    Single-point strategies are drawn as dashed horizontal lines.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, entry in summary["strategies"].items():
        curve = entry["regret_curve"]
        trials = list(range(1, len(curve["mean"]) + 1))
        if entry["point"]:
            ax.axhline(curve["mean"][0], linestyle="--", linewidth=1.2, label=f"{name} (point)")
            continue
        (line,) = ax.plot(trials, curve["mean"], linewidth=1.8, label=name)
        ax.fill_between(trials, curve["low"], curve["high"], color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("trials")
    ax.set_ylabel("mean normalised regret")
    ax.set_ylim(bottom=0)
    n_datasets, n_seeds = len(summary["datasets"]), len(summary["seeds"])
    ax.set_title(f"Regret vs trials ({n_datasets} datasets x {n_seeds} seeds)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_warmstart_vs_tpe(summary: Mapping[str, Any], path: Path, *, budget: int = 10) -> bool:
    """Per-dataset regret of warmstart (y) vs tpe (x) at ``budget`` trials ; False if none."""
    per_dataset = summary["per_dataset"]
    key = str(budget if budget in summary["budgets"] else summary["budgets"][-1])
    points = [
        (v["tpe"][key], v["warmstart"][key])
        for v in per_dataset.values()
        if "tpe" in v and "warmstart" in v
    ]
    if not points:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    xs, ys = zip(*points, strict=True)
    ax.scatter(xs, ys, s=22, alpha=0.8)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle=":")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"tpe regret after {key} trials")
    ax.set_ylabel(f"warmstart regret after {key} trials")
    better = sum(y < x for x, y in points)
    ax.set_title(f"Per dataset: warmstart better on {better}/{len(points)}")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
