"""Figures for the command line (matplotlib, an optional extra: ``pip install 'fromax[plot]'``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PlotUnavailable", "compare_figure", "sweep_figure", "training_figure"]


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(
            "drawing figures needs matplotlib: pip install 'fromax[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, axes: Sequence[Any], path: Path) -> Path:
    """Grids every panel, lays the figure out, writes it to ``path`` and frees it."""
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _series(records: Sequence[Mapping[str, float]], key: str) -> tuple[list[float], list[float]]:
    return [r["step"] for r in records], [r[key] for r in records]


def training_figure(records: Sequence[Mapping[str, float]], path: Path, title: str) -> Path:
    """Loss, accuracy and each hyperparameter against the step, one panel each."""
    plt = _pyplot()
    hypers = [k for k in records[0] if k not in ("step", "loss", "accuracy", "val_loss")]
    panels = ["loss", "accuracy", *hypers]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True)
    for ax, key in zip(axes, panels, strict=True):
        ax.plot(*_series(records, key), linewidth=1)
        ax.set_ylabel(key.replace("_", " "))
    # The held-out loss is on the evaluated steps only: points on the loss panel.
    evaluated = [r for r in records if "val_loss" in r]
    if evaluated:
        axes[0].plot(*_series(evaluated, "val_loss"), "o-", markersize=3, label="held out")
        axes[0].legend()
    axes[0].set_yscale("log")
    axes[0].set_title(title)
    axes[-1].set_xlabel("step")
    return _save(plt, fig, axes, path)


def compare_figure(runs: Mapping[str, Sequence[Mapping[str, float]]], path: Path) -> Path:
    """Every run's training loss and accuracy against the step, on shared axes.

    Where a run was evaluated on held-out data, its held-out loss is drawn on
    the loss panel too, as points in the run's colour joined by a dashed line.
    """
    plt = _pyplot()
    fig, (loss_ax, accuracy_ax) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    held_out = False
    for label, records in runs.items():
        (line,) = loss_ax.plot(*_series(records, "loss"), linewidth=0.8, alpha=0.5)
        accuracy_ax.plot(*_series(records, "accuracy"), label=label, linewidth=0.8)
        evaluated = [r for r in records if "val_loss" in r]
        if evaluated:
            held_out = True
            loss_ax.plot(
                *_series(evaluated, "val_loss"), "o--", color=line.get_color(), markersize=3
            )
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("loss")
    if held_out:
        # The runs are named once, on the accuracy panel; here, what the two line styles are.
        loss_ax.plot([], [], color="gray", linewidth=0.8, label="training")
        loss_ax.plot([], [], "o--", color="gray", markersize=3, label="held out")
        loss_ax.legend(fontsize="small")
    accuracy_ax.set_ylabel("training accuracy")
    accuracy_ax.set_xlabel("step")
    accuracy_ax.legend(fontsize="small", loc="lower right")
    return _save(plt, fig, (loss_ax, accuracy_ax), path)


def sweep_figure(
    values: Sequence[float], results: Mapping[str, Any], name: str, path: Path
) -> Path:
    """Final training loss and test accuracy against the swept value (log x axis)."""
    plt = _pyplot()
    fig, (loss_ax, accuracy_ax) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    final = [float(row[-1]) for row in results["loss"]]
    loss_ax.plot(values, final, marker="o")
    loss_ax.set_ylabel("final training loss")
    loss_ax.set_yscale("log")
    accuracy_ax.plot(values, results["test_accuracy"], marker="o")
    accuracy_ax.set_ylabel("test accuracy")
    accuracy_ax.set_xlabel(name.replace("_", " "))
    accuracy_ax.set_xscale("log")
    return _save(plt, fig, (loss_ax, accuracy_ax), path)
