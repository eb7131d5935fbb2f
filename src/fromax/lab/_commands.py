"""The commands behind ``fromax train``, ``compare``, ``sweep``, ``optimizers`` and ``demo``."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import jax
import numpy as np

from fromax._checkpoint import load_checkpoint_metadata, restore_checkpoint, save_checkpoint
from fromax.lab import _catalogue
from fromax.lab._data import load_dataset
from fromax.lab._models import MODELS
from fromax.lab._plots import PlotUnavailable, compare_figure, sweep_figure, training_figure
from fromax.lab._progress import Progress
from fromax.lab._train import Run, evaluate, init_run, sweep, train

__all__ = ["RunConfig", "compare_command", "optimizers_command", "sweep_command", "train_command"]

CHECKPOINT = "checkpoint.npz"
RUN_CONFIG = "run.json"
METRICS = "metrics.jsonl"


def parse_spec(text: str, argument: str) -> Any:
    """A number or a schedule spec (``warmup_cosine_decay(...)``) for ``argument``."""
    from fromax.schedules import from_spec

    try:
        return from_spec(text)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{argument}: {error}") from None


def _parse_option(name: str, text: str, default: Any) -> Any:
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"--hyper {name}: expected true or false, got {text!r}")
        return text.lower() == "true"
    return parse_spec(text, f"--hyper {name}")


class RunConfig(dict):
    """The arguments of one training run, as JSON (saved as run.json to resume)."""

    @classmethod
    def make(cls, **fields: Any) -> RunConfig:
        return cls(fields)

    def hyper_kwargs(self) -> dict[str, Any]:
        """The ``--hyper`` options, parsed, each name checked against the optimiser's."""
        name = self["optimizer"]
        defaults = _catalogue.hyperparameters(name)
        kwargs: dict[str, Any] = {}
        for key, text in self["hyper"].items():
            if key not in defaults:
                raise ValueError(
                    f"{name} has no hyperparameter {key!r}; its hyperparameters are: "
                    f"{', '.join(defaults)}"
                )
            kwargs[key] = _parse_option(key, text, defaults[key])
        return kwargs

    def optimizer(self) -> Any:
        """Builds the optimiser, checking every hyperparameter name first."""
        name = self["optimizer"]
        kwargs = self.hyper_kwargs()
        if self.get("learning_rate") is not None:
            if "learning_rate" not in _catalogue.hyperparameters(name):
                raise ValueError(f"{name} has no learning_rate")
            kwargs["learning_rate"] = parse_spec(self["learning_rate"], "--learning-rate")
        return _catalogue.optimizer(name)(**kwargs)

    def label(self) -> str:
        """``fromage lr=0.01``; a schedule shows by its name: ``fromage lr=warmup_cosine_decay``."""
        lr = self.get("learning_rate")
        if lr is None:
            return self["optimizer"]
        short = lr.split("(", 1)[0].strip() if "(" in lr else lr
        return f"{self['optimizer']} lr={short}"


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _load(config: Mapping[str, Any]):
    if config["model"] not in MODELS:
        raise ValueError(f"unknown model {config['model']!r}; choose one of: {', '.join(MODELS)}")
    data = load_dataset(config["dataset"], seed=config["seed"])
    return MODELS[config["model"]](), data


def _draw(draw: Any, *args: Any, out: TextIO) -> Path | None:
    try:
        return draw(*args)
    except PlotUnavailable as error:
        out.write(f"no figure: {error}\n")
        return None


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n")
    temporary.replace(path)


def _train(config: Mapping[str, Any], model: Any, optimizer: Any, data: Any, **extra: Any) -> Run:
    """``train`` with the run's own steps, batch size, seed and devices."""
    return train(
        model,
        optimizer,
        data,
        steps=config["steps"],
        batch_size=config["batch_size"],
        seed=config["seed"],
        devices=config["devices"],
        **extra,
    )


def train_command(
    config: Mapping[str, Any] | None, out_dir: Path, *, resume: bool, out: TextIO, err: TextIO
) -> dict[str, Any]:
    """``fromax train``: one run with progress, metrics, summary, figure and checkpoints.

    With ``resume``, the run's arguments are read from ``out_dir/run.json``;
    ``config`` may only override ``steps`` (to extend the run).
    """
    out_dir = Path(out_dir)
    metrics_path = out_dir / METRICS
    if resume:
        saved = out_dir / RUN_CONFIG
        if not saved.is_file() or not (out_dir / CHECKPOINT).is_file():
            raise ValueError(f"--resume {out_dir}: no {RUN_CONFIG} and {CHECKPOINT} there")
        stored = RunConfig(json.loads(saved.read_text()))
        if config is not None and config.get("steps"):
            stored["steps"] = config["steps"]
        config = stored
    if not isinstance(config, RunConfig):
        raise TypeError("train_command needs a RunConfig unless it resumes")
    _check_positive(
        steps=config["steps"], batch_size=config["batch_size"], devices=config["devices"]
    )
    optimizer = config.optimizer()
    model, data = _load(config)
    start: Run | None = None
    if resume:
        fresh = init_run(model, optimizer, data, config["seed"])
        params, opt_state = restore_checkpoint(
            out_dir / CHECKPOINT, (fresh.params, fresh.opt_state)
        )
        step = int(load_checkpoint_metadata(out_dir / CHECKPOINT)["step"])
        start = Run(params, opt_state, step)
        kept = (
            [
                line
                for line in metrics_path.read_text().splitlines()
                if json.loads(line)["step"] <= step
            ]
            if metrics_path.is_file()
            else []
        )
        metrics_path.write_text("".join(line + "\n" for line in kept))
        out.write(f"resuming {out_dir} at step {step} of {config['steps']}\n")
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics_path.write_text("")
        _write_json(out_dir / RUN_CONFIG, dict(config))

    records: list[dict[str, float]] = []
    if resume:
        records = [json.loads(line) for line in metrics_path.read_text().splitlines()]
    progress = Progress(config["steps"], stream=err, label=config["optimizer"])

    def on_steps(batch: list[dict[str, float]]) -> None:
        records.extend(batch)
        with metrics_path.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in batch)
        progress.update(batch)

    def on_checkpoint(run: Run) -> None:
        save_checkpoint(
            out_dir / CHECKPOINT,
            (run.params, run.opt_state),
            metadata={
                "step": run.step,
                "data_order": {
                    "seed": config["seed"],
                    "batch_size": config["batch_size"],
                    "rule": "batch t = rows t*B..(t+1)*B of numpy "
                    "default_rng([seed, epoch]).permutation(n)",
                },
            },
        )

    began = time.perf_counter()
    first = start.step if start is not None else 0
    run = _train(
        config,
        model,
        optimizer,
        data,
        start=start,
        on_steps=on_steps,
        checkpoint_every=config.get("checkpoint_every", 0),
        on_checkpoint=on_checkpoint,
    )
    seconds = time.perf_counter() - began
    progress.close()
    on_checkpoint(run)
    train_loss, train_accuracy = evaluate(model, run.params, data.x_train, data.y_train)
    test_loss, test_accuracy = evaluate(model, run.params, data.x_test, data.y_test)
    summary = {
        "optimizer": config["optimizer"],
        "learning_rate": config.get("learning_rate"),
        "hyper": config["hyper"],
        "model": config["model"],
        "dataset": config["dataset"],
        "steps": run.step,
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "seconds": seconds,
        "steps_per_second": (run.step - first) / max(seconds, 1e-9),
    }
    _write_json(out_dir / "summary.json", summary)
    figure = _draw(training_figure, records, out_dir / "training.png", config.label(), out=out)
    out.write(
        f"{config.label()}: {run.step} steps in {seconds:.1f} s, train loss {train_loss:.4f}, "
        f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.3f}\n"
        f"wrote {out_dir / METRICS}, {out_dir / 'summary.json'}"
        + (f", {figure}" if figure else "")
        + "\n"
    )
    return summary


def compare_command(
    configs: Sequence[RunConfig], out_dir: Path, *, out: TextIO, err: TextIO
) -> list[dict[str, Any]]:
    """``fromax compare``: the same model and initialisation, one run per optimiser."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    built = [(c, c.optimizer()) for c in configs]  # fail on a bad argument before training
    model, data = _load(configs[0])
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[dict[str, float]]] = {}
    for config, optimizer in built:
        records: list[dict[str, float]] = []
        progress = Progress(config["steps"], stream=err, label=config.label())

        def on_steps(batch, records=records, progress=progress):
            records.extend(batch)
            progress.update(batch)

        began = time.perf_counter()
        run = _train(config, model, optimizer, data, on_steps=on_steps)
        seconds = time.perf_counter() - began
        progress.close()
        test_loss, test_accuracy = evaluate(model, run.params, data.x_test, data.y_test)
        label = config.label()
        curves[label] = records
        rows.append(
            {
                "label": label,
                "train_loss": records[-1]["loss"],
                "test_loss": test_loss,
                "test_accuracy": test_accuracy,
                "seconds": seconds,
            }
        )
    width = max(len(r["label"]) for r in rows)
    out.write(f"{'optimizer':<{width}}  train loss  test loss  test accuracy  time\n")
    for r in rows:
        out.write(
            f"{r['label']:<{width}}  {r['train_loss']:10.4f}  {r['test_loss']:9.4f}  "
            f"{r['test_accuracy']:13.3f}  {r['seconds']:4.1f} s\n"
        )
    _write_json(out_dir / "compare.json", rows)
    figure = _draw(compare_figure, curves, out_dir / "compare.png", out=out)
    if figure:
        out.write(f"figure: {figure}\n")
    return rows


def parse_values(text: str) -> np.ndarray:
    """``"1e-3,3e-3,1e-2"`` or a log range ``"log:1e-4:1e-1:7"`` (7 points)."""
    try:
        if text.startswith("log:"):
            low, high, count = text[4:].split(":")
            low_value, high_value, points = float(low), float(high), int(count)
            if not (0 < low_value < high_value and points >= 2):
                raise ValueError
            return np.geomspace(low_value, high_value, points)
        values = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(
            f"--learning-rate: expected values like 1e-3,3e-3,1e-2 or log:1e-4:1e-1:7, got {text!r}"
        ) from None
    if not np.isfinite(values).all():
        raise ValueError(f"--learning-rate: values must be finite, got {text!r}")
    return values


def sweep_command(
    config: RunConfig, values: np.ndarray, out_dir: Path, *, out: TextIO
) -> dict[str, Any]:
    """``fromax sweep``: every learning rate trained at once in one compiled program."""
    out_dir = Path(out_dir)
    _check_positive(steps=config["steps"], batch_size=config["batch_size"])
    if (values < 0).any():
        raise ValueError("--learning-rate: a learning rate must be >= 0")
    model, data = _load(config)
    name = config["optimizer"]
    if "learning_rate" not in _catalogue.hyperparameters(name):
        raise ValueError(f"{name} has no learning_rate to sweep")
    kwargs = config.hyper_kwargs()  # parsed and checked once, before compiling
    constructor = _catalogue.optimizer(name)
    constructor(learning_rate=float(values[0]), **kwargs)  # checks the values too
    traces = []

    def make(value: jax.Array):
        return constructor(learning_rate=value, **kwargs)

    began = time.perf_counter()
    results = sweep(
        model,
        make,
        values,
        data,
        steps=config["steps"],
        batch_size=config["batch_size"],
        seed=config["seed"],
        on_trace=lambda: traces.append(1),
    )
    seconds = time.perf_counter() - began
    out.write(
        f"{name}: {len(values)} learning rates x {config['steps']} steps in "
        f"{seconds:.1f} s, compiled once ({len(traces)} trace for {len(values)} runs)\n"
    )
    out.write("learning rate  final train loss  test loss  test accuracy\n")
    rows = []
    for value, losses, test_loss, accuracy in zip(
        values, results["loss"], results["test_loss"], results["test_accuracy"], strict=True
    ):
        final = float(losses[-1])
        rows.append(
            {
                "learning_rate": float(value),
                "final_train_loss": final,
                "test_loss": float(test_loss),
                "test_accuracy": float(accuracy),
            }
        )
        shown = "nan" if not math.isfinite(final) else f"{final:16.4f}"
        out.write(f"{value:13.4g}  {shown:>16}  {float(test_loss):9.4f}  {float(accuracy):13.3f}\n")
    summary = {"optimizer": name, "traces": len(traces), "seconds": seconds, "runs": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / "sweep.json", summary)
    figure = _draw(sweep_figure, values, results, "learning_rate", out_dir / "sweep.png", out=out)
    if figure:
        out.write(f"figure: {figure}\n")
    return summary


def optimizers_command(out: TextIO) -> None:
    """``fromax optimizers``: every optimiser with its hyperparameters and defaults."""
    for name in _catalogue.optimizers():
        parts = [f"{k}={v!r}" for k, v in _catalogue.hyperparameters(name).items()]
        out.write(f"{name}({', '.join(parts)})\n")
