"""The commands behind ``fromax train``, ``compare``, ``sweep``, ``optimizers`` and ``demo``.

``sample`` (text from a trained GPT) is in ``_sample_command``.
"""

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
from fromax.lab._data import load_dataset
from fromax.lab._gpt import GPTConfig, gpt
from fromax.lab._models import MODELS
from fromax.lab._optimizers import build, listing, markdown_table, optimizer_spec, parse_hyper
from fromax.lab._plots import PlotUnavailable, compare_figure, sweep_figure, training_figure
from fromax.lab._progress import Progress
from fromax.lab._recipes import gpt_trees
from fromax.lab._run_folder import (
    CHECKPOINT,
    MAY_CHANGE_ON_RESUME,
    METRICS,
    RUN_CONFIG,
    SUMMARY,
    check_resume_options,
    clean_temporaries,
    json_text,
    prepare_output,
    read_run_config,
    writable_folder,
    write_json,
)
from fromax.lab._text import TEXTS, TextData, load_corpus
from fromax.lab._train import Run, evaluate, init_run, sweep, train

__all__ = [
    "CHECKPOINT",
    "RUN_CONFIG",
    "Diverged",
    "RunConfig",
    "compare_command",
    "optimizers_command",
    "sweep_command",
    "train_command",
]


class RunConfig(dict):
    """The arguments of one training run, as JSON (saved as run.json to resume)."""

    @classmethod
    def make(cls, **fields: Any) -> RunConfig:
        return cls(fields)

    def hyper_kwargs(self) -> dict[str, Any]:
        """The ``--hyper`` options, each parsed by the kind its optimiser declares,
        and on the GPT its weight decay mask and Muon's or Scion's labels."""
        kwargs = parse_hyper(self["optimizer"], self["hyper"])
        if self.get("model") == "gpt":
            declaration = optimizer_spec(self["optimizer"])
            trees = gpt_trees(self["optimizer"], lambda name: name in declaration)
            kwargs = {**trees, **kwargs}
        return kwargs

    def optimizer(self) -> Any:
        """Builds the optimiser, checking every hyperparameter name first."""
        return build(self["optimizer"], self.hyper_kwargs(), self.get("learning_rate"))

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


def _is_text(config: Mapping[str, Any]) -> bool:
    return bool(config.get("data")) or config["dataset"] in TEXTS


def _load(config: Mapping[str, Any]):
    """The model and its data; a model given data of the wrong kind is refused."""
    name = config["model"]
    if name == "gpt":
        if not _is_text(config):
            raise ValueError(
                f"--model gpt reads text, not --dataset {config['dataset']}: "
                f"use --dataset {' or '.join(TEXTS)} or --data FILE.txt"
            )
        data = TextData(
            load_corpus(config.get("data") or config["dataset"]), gpt_config(config).context
        )
        return gpt(gpt_config(config)), data
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join([*MODELS, 'gpt'])}")
    if _is_text(config):
        raise ValueError(f"--model {name} classifies examples; a text needs --model gpt")
    return MODELS[name](), load_dataset(config["dataset"], seed=config["seed"])


def gpt_config(config: Mapping[str, Any]) -> GPTConfig:
    """The GPT's shape recorded in a run's config (``--layers`` ... ``--context``)."""
    return GPTConfig(**config["gpt"]).check()


def _check_vocabulary(config: RunConfig, data: Any) -> None:
    """Records a text's characters in the config (``sample`` needs them); on resume, the
    text must still have the characters the run was trained on."""
    if not isinstance(data, TextData):
        return
    characters = data.corpus.vocabulary.characters
    saved = config.setdefault("vocabulary", characters)
    if saved != characters:
        raise ValueError(
            f"{data.name} no longer has the characters the run was trained on; "
            "resume with the same text"
        )


def _draw(draw: Any, *args: Any, out: TextIO) -> Path | None:
    try:
        return draw(*args)
    except PlotUnavailable as error:
        out.write(f"no figure: {error}\n")
        return None


def _data_order(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's steps, batch size and seed: with the data, they fix every batch."""
    return {key: config[key] for key in ("steps", "batch_size", "seed")}


def _train(config: Mapping[str, Any], model: Any, optimizer: Any, data: Any, **extra: Any) -> Run:
    """``train`` with the run's own steps, batch size, seed, devices and evaluations."""
    return train(
        model,
        optimizer,
        data,
        **_data_order(config),
        devices=config["devices"],
        eval_every=config.get("eval_every", 0),
        **extra,
    )


def _progress(config: Mapping[str, Any], data: Any, err: TextIO, label: str) -> Progress:
    context = getattr(data, "context", None)
    tokens = config["batch_size"] * context if context else None
    return Progress(config["steps"], stream=err, label=label, tokens_per_step=tokens)


def _evaluator(model: Any, data: Any, progress: Progress):
    """``on_eval`` for ``train``: the held-out loss (on ``held_out_sample()``), its time left
    out of the progress rate."""
    x, y = data.held_out_sample()

    def on_eval(step: int, params: Any) -> dict[str, float]:
        began = time.perf_counter()
        loss, _ = evaluate(model, params, x, y)
        progress.exclude(time.perf_counter() - began)
        return {"val_loss": loss}

    return on_eval


class Diverged(Exception):
    """The loss became NaN or infinite at ``step``: the run stops there."""

    def __init__(self, step: int):
        super().__init__(f"the loss became NaN or infinite at step {step}")
        self.step = step


def _until_divergence(batch: list[dict[str, float]]) -> tuple[list[dict[str, float]], int | None]:
    """The records up to the first whose loss is NaN or infinite, and its step (or None)."""
    for i, record in enumerate(batch):
        if not math.isfinite(record["loss"]):
            return batch[: i + 1], int(record["step"])
    return batch, None


def train_command(
    config: Mapping[str, Any] | None,
    out_dir: Path,
    *,
    resume: bool,
    out: TextIO,
    err: TextIO,
    overwrite: bool = False,
) -> dict[str, Any]:
    """``fromax train``: one run with progress, metrics, summary, figure and checkpoints.

    With ``resume``, the run's arguments are read from ``out_dir/run.json``;
    ``config`` holds the options the command line gave: ``steps`` (which must
    go past the checkpoint's step), ``devices`` and ``checkpoint_every`` apply,
    and any other must agree with run.json. Without it, ``out_dir`` must not
    hold a run unless ``overwrite``. A run whose loss becomes NaN or infinite
    stops there, keeps its last checkpoint, and its summary has
    ``"diverged_at_step"``.
    """
    out_dir = Path(out_dir)
    if resume:
        config = _saved_config(out_dir, config or {})
    if not isinstance(config, RunConfig):
        raise TypeError("train_command needs a RunConfig unless it resumes")
    _check_positive(
        steps=config["steps"], batch_size=config["batch_size"], devices=config["devices"]
    )
    optimizer = config.optimizer()
    model, data = _load(config)
    _check_vocabulary(config, data)
    if resume:
        start, records = _restore(out_dir, config, model, optimizer, data)
        write_json(out_dir / RUN_CONFIG, dict(config))  # its new target, for the next resume
        out.write(f"resuming {out_dir} at step {start.step} of {config['steps']}\n")
    else:
        prepare_output(out_dir, overwrite=overwrite)
        start, records = None, _start_output(out_dir, config)
    began = time.perf_counter()
    try:
        run = _train_with_checkpoints(out_dir, config, model, optimizer, data, start, records, err)
    except Diverged as diverged:
        return _diverged(out_dir, config, diverged, err)
    seconds = time.perf_counter() - began
    steps_run = run.step - (start.step if start is not None else 0)
    return _summarise(out_dir, config, model, data, run, records, seconds, steps_run, out)


def _summary_of_run(config: RunConfig, steps: int) -> dict[str, Any]:
    """summary.json's first fields: what was trained, with what, for how many steps."""
    return {
        "optimizer": config["optimizer"],
        "learning_rate": config.get("learning_rate"),
        "hyper": config["hyper"],
        "model": config["model"],
        "dataset": config["dataset"],
        "steps": steps,
    }


def _diverged(out_dir: Path, config: RunConfig, diverged: Diverged, err: TextIO) -> dict[str, Any]:
    """summary.json for a run that diverged, and one line on ``err``."""
    checkpoint = out_dir / CHECKPOINT
    kept = load_checkpoint_metadata(checkpoint)["step"] if checkpoint.is_file() else None
    summary = {
        **_summary_of_run(config, diverged.step),
        "train_loss": None,
        "diverged_at_step": diverged.step,
        "checkpoint_step": kept,
    }
    write_json(out_dir / SUMMARY, summary)
    saved = f"the checkpoint of step {kept} is kept" if kept else "no checkpoint was saved"
    err.write(
        f"fromax train: the loss became NaN or infinite at step {diverged.step}; the run "
        f"stopped ({saved}): try a smaller --learning-rate\n"
    )
    return summary


def _saved_config(out_dir: Path, given: Mapping[str, Any]) -> RunConfig:
    """The arguments of the run saved in ``out_dir``, with the changes ``given`` may make."""
    if not (out_dir / RUN_CONFIG).is_file() or not (out_dir / CHECKPOINT).is_file():
        raise ValueError(f"--resume {out_dir}: no {RUN_CONFIG} and {CHECKPOINT} there")
    config = RunConfig(read_run_config(out_dir))
    check_resume_options(config, given)
    for name in MAY_CHANGE_ON_RESUME:
        if given.get(name) is not None:
            config[name] = given[name]
    step = load_checkpoint_metadata(out_dir / CHECKPOINT)
    step = step.get("step") if isinstance(step, dict) else None
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"--resume {out_dir}: {CHECKPOINT} records no step; it is damaged")
    if config["steps"] <= step:
        raise ValueError(
            f"--resume {out_dir}: the checkpoint is at step {step}, and the run's target is "
            f"{config['steps']}: pass --steps N with N > {step} to train further"
        )
    return config


def _restore(
    out_dir: Path, config: RunConfig, model: Any, optimizer: Any, data: Any
) -> tuple[Run, list[dict[str, float]]]:
    """The checkpointed run, and its metrics up to its step (later lines are dropped)."""
    fresh = init_run(model, optimizer, data, config["seed"])
    params, opt_state = restore_checkpoint(out_dir / CHECKPOINT, (fresh.params, fresh.opt_state))
    step = int(load_checkpoint_metadata(out_dir / CHECKPOINT)["step"])
    metrics_path = out_dir / METRICS
    lines = metrics_path.read_text().splitlines() if metrics_path.is_file() else []
    kept = []
    for line in lines:
        record = _record(line)
        # A killed run may leave a half-written last line; later steps are retrained.
        if record is None or record["step"] > step:
            break
        kept.append(record)
    metrics_path.write_text("".join(json_text(r) + "\n" for r in kept))
    clean_temporaries(out_dir)
    return Run(params, opt_state, step), kept


def _record(line: str) -> dict[str, Any] | None:
    """One line of metrics.jsonl, or None when it is not a whole record."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("step"), int):
        return None
    return record


def _start_output(out_dir: Path, config: RunConfig) -> list[dict[str, float]]:
    """A fresh output folder: empty metrics and the run's arguments; no records yet."""
    (out_dir / METRICS).write_text("")
    write_json(out_dir / RUN_CONFIG, dict(config))
    return []


def _train_with_checkpoints(
    out_dir: Path,
    config: RunConfig,
    model: Any,
    optimizer: Any,
    data: Any,
    start: Run | None,
    records: list[dict[str, float]],
    err: TextIO,
) -> Run:
    """Trains from ``start``, appending metrics to ``records`` and the metrics file,
    showing progress, and checkpointing every ``checkpoint_every`` steps and at the end."""
    progress = _progress(config, data, err, config["optimizer"])

    def on_steps(batch: list[dict[str, float]]) -> None:
        batch, diverged = _until_divergence(batch)
        records.extend(batch)
        with (out_dir / METRICS).open("a") as f:
            f.writelines(json_text(r) + "\n" for r in batch)
        progress.update(batch)
        if diverged is not None:
            # Raised before the loop's next checkpoint: the last good one survives.
            progress.close()
            raise Diverged(diverged)

    def on_checkpoint(run: Run) -> None:
        clean_temporaries(out_dir)  # a killed run's half-written checkpoints
        save_checkpoint(
            out_dir / CHECKPOINT,
            (run.params, run.opt_state),
            metadata={
                "step": run.step,
                "data_order": {
                    "seed": config["seed"],
                    "batch_size": config["batch_size"],
                    "rule": data.order_rule,
                },
            },
        )

    run = _train(
        config,
        model,
        optimizer,
        data,
        start=start,
        on_steps=on_steps,
        checkpoint_every=config.get("checkpoint_every", 0),
        on_checkpoint=on_checkpoint,
        on_eval=_evaluator(model, data, progress),
    )
    progress.close()
    on_checkpoint(run)
    return run


def _summarise(
    out_dir: Path,
    config: RunConfig,
    model: Any,
    data: Any,
    run: Run,
    records: list[dict[str, float]],
    seconds: float,
    steps_run: int,
    out: TextIO,
) -> dict[str, Any]:
    """Evaluates the trained model; writes summary.json and the figure, and says so."""
    train_loss, train_accuracy = evaluate(model, run.params, *data.train_sample())
    test_loss, test_accuracy = evaluate(model, run.params, *data.held_out())
    held = data.held_out_name
    summary = {
        **_summary_of_run(config, run.step),
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        f"{held}_loss": test_loss,
        f"{held}_accuracy": test_accuracy,
        "seconds": seconds,
        "steps_per_second": steps_run / max(seconds, 1e-9),
    }
    write_json(out_dir / SUMMARY, summary)
    figure = _draw(training_figure, records, out_dir / "training.png", config.label(), out=out)
    out.write(
        f"{config.label()}: {run.step} steps in {seconds:.1f} s, train loss {train_loss:.4f}, "
        f"{held} loss {test_loss:.4f}, {held} accuracy {test_accuracy:.3f}\n"
        f"wrote {out_dir / METRICS}, {out_dir / 'summary.json'}"
        + (f", {figure}" if figure else "")
        + "\n"
    )
    return summary


def compare_command(
    configs: Sequence[RunConfig], out_dir: Path, *, out: TextIO, err: TextIO
) -> list[dict[str, Any]]:
    """``fromax compare``: the same model and initialisation, one run per optimiser."""
    if not configs:
        raise ValueError("--optimizers: name at least one optimizer")
    out_dir = writable_folder(Path(out_dir))
    built = [(c, c.optimizer()) for c in configs]  # fail on a bad argument before training
    model, data = _load(configs[0])
    held = data.held_out_name
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[dict[str, float]]] = {}
    for config, optimizer in built:
        records: list[dict[str, float]] = []
        progress = _progress(config, data, err, config.label())

        def on_steps(batch, records=records, progress=progress):
            batch, diverged = _until_divergence(batch)
            records.extend(batch)
            progress.update(batch)
            if diverged is not None:
                raise Diverged(diverged)

        began = time.perf_counter()
        label = config.label()
        try:
            run = _train(
                config,
                model,
                optimizer,
                data,
                on_steps=on_steps,
                on_eval=_evaluator(model, data, progress),
            )
        except Diverged as diverged:
            progress.close()
            err.write(
                f"fromax compare: {label}: the loss became NaN or infinite at step "
                f"{diverged.step}; that run stopped there\n"
            )
            row = {"label": label, "train_loss": math.nan, f"{held}_loss": math.nan}
            row |= {f"{held}_accuracy": math.nan, "diverged_at_step": diverged.step}
            rows.append({**row, "seconds": time.perf_counter() - began})
            curves[label] = records
            continue
        seconds = time.perf_counter() - began
        progress.close()
        test_loss, test_accuracy = evaluate(model, run.params, *data.held_out())
        curves[label] = records
        rows.append(
            {
                "label": label,
                "train_loss": records[-1]["loss"],
                f"{held}_loss": test_loss,
                f"{held}_accuracy": test_accuracy,
                "seconds": seconds,
            }
        )
    _compare_table(rows, held, out)
    write_json(out_dir / "compare.json", rows)  # a diverged run's numbers are null
    figure = _draw(compare_figure, curves, out_dir / "compare.png", out=out)
    if figure:
        out.write(f"figure: {figure}\n")
    return rows


def _compare_table(rows: list[dict[str, Any]], held: str, out: TextIO) -> None:
    width = max(len(r["label"]) for r in rows)
    out.write(f"{'optimizer':<{width}}  train loss  {held} loss  {held} accuracy  time\n")
    loss_width, accuracy_width = len(held) + 5, len(held) + 9
    for r in rows:
        out.write(
            f"{r['label']:<{width}}  {r['train_loss']:10.4f}  {r[f'{held}_loss']:{loss_width}.4f}  "
            f"{r[f'{held}_accuracy']:{accuracy_width}.3f}  {r['seconds']:4.1f} s\n"
        )


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
    out_dir = writable_folder(Path(out_dir))  # before the training, not after
    _check_positive(steps=config["steps"], batch_size=config["batch_size"])
    if (values < 0).any():
        raise ValueError("--learning-rate: a learning rate must be >= 0")
    model, data = _load(config)
    name = config["optimizer"]
    if "learning_rate" not in optimizer_spec(name):
        raise ValueError(f"{name} has no learning_rate to sweep")
    kwargs = config.hyper_kwargs()  # parsed and checked once, before compiling
    constructor = optimizer_spec(name).constructor
    build(name, {**kwargs, "learning_rate": float(values[0])})  # checks the values too
    traces = []

    def make(value: jax.Array):
        traces.append(1)  # sweep calls this once per trace of its program
        return constructor(learning_rate=value, **kwargs)

    began = time.perf_counter()
    results = sweep(model, make, values, data, **_data_order(config))
    seconds = time.perf_counter() - began
    out.write(
        f"{name}: {len(values)} learning rates x {config['steps']} steps in "
        f"{seconds:.1f} s, compiled once ({len(traces)} trace for {len(values)} runs)\n"
    )
    held = data.held_out_name
    out.write(f"learning rate  final train loss  {held} loss  {held} accuracy\n")
    rows = []
    for value, losses, test_loss, accuracy in zip(
        values, results["loss"], results["test_loss"], results["test_accuracy"], strict=True
    ):
        final = float(losses[-1])
        rows.append(
            {
                "learning_rate": float(value),
                "final_train_loss": final,
                f"{held}_loss": float(test_loss),
                f"{held}_accuracy": float(accuracy),
            }
        )
        shown = "nan" if not math.isfinite(final) else f"{final:16.4f}"
        out.write(
            f"{value:13.4g}  {shown:>16}  {float(test_loss):{len(held) + 5}.4f}  "
            f"{float(accuracy):{len(held) + 9}.3f}\n"
        )
    summary = {"optimizer": name, "traces": len(traces), "seconds": seconds, "runs": rows}
    write_json(out_dir / "sweep.json", summary)
    figure = _draw(sweep_figure, values, results, "learning_rate", out_dir / "sweep.png", out=out)
    if figure:
        out.write(f"figure: {figure}\n")
    return summary


def optimizers_command(out: TextIO, *, markdown: bool = False) -> None:
    """``fromax optimizers``: every declared optimiser, its summary and hyperparameters.

    With ``markdown``, the README's table instead (``fromax optimizers --markdown``).
    """
    out.write(markdown_table() if markdown else listing())
