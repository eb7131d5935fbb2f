"""The console program end to end: train, resume, compare, sweep, optimizers, demo, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fromax
from fromax import schedules
from fromax._core import _registry
from fromax._core._registry import Choice, Hyperparameter, Number, declare, declared
from fromax.lab._cli import _demo_optimizers, _fill_defaults, _gpt_shape, _parser, main
from fromax.lab._commands import RunConfig
from fromax.lab._data import load_dataset
from fromax.lab._models import mlp
from fromax.lab._optimizers import markdown_table
from fromax.lab._train import sweep, train

SPEC = "warmup_cosine_decay(init_value=0.0, peak_value=0.05, warmup_steps=5, decay_steps=30)"


def _records(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_metrics_summary_figure_and_follows_the_schedule(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--optimizer",
            "fromage",
            "--learning-rate",
            SPEC,
            "--steps",
            "30",
            "--batch-size",
            "32",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    records = _records(out)
    assert [r["step"] for r in records] == list(range(1, 31))
    schedule = schedules.from_spec(SPEC)
    for r in records:
        # Written as the shortest decimal of the float32 value the step used: exact.
        assert np.float32(r["learning_rate"]) == schedule(r["step"] - 1)
        assert r["loss"] > 0 and 0 <= r["accuracy"] <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 30 and 0.5 < summary["test_accuracy"] <= 1
    assert summary["train_loss"] < records[0]["loss"]
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr()
    assert "test accuracy" in printed.out and "30/30 steps" in printed.err


def test_resumed_run_ends_bitwise_equal_to_an_uninterrupted_one(tmp_path):
    common = ["train", "--learning-rate", SPEC, "--batch-size", "32"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*common, "--steps", "30", "--out", str(whole)]) == 0
    assert main([*common, "--steps", "12", "--checkpoint-every", "4", "--out", str(parts)]) == 0
    assert main(["train", "--resume", str(parts), "--steps", "30"]) == 0
    with np.load(whole / "checkpoint.npz") as a, np.load(parts / "checkpoint.npz") as b:
        leaves = [k for k in a.files if k != "__fromax__"]
        assert leaves and all(np.array_equal(a[k], b[k]) for k in leaves)
    assert _records(whole) == _records(parts)
    meta = fromax.load_checkpoint_metadata(parts / "checkpoint.npz")
    assert meta["step"] == 30 and meta["data_order"]["seed"] == 0


def test_sweep_compiles_once_and_equals_separate_runs(tmp_path, capsys):
    data = load_dataset("digits")
    rates = np.array([0.01, 0.05, 0.2])
    traces = []

    def make_optimizer(lr):
        traces.append(1)  # a Python side effect: runs once per trace of sweep's program
        return fromax.fromage(lr)

    results = sweep(mlp(), make_optimizer, rates, data, steps=15, batch_size=32)
    assert len(traces) == 1
    for i, rate in enumerate(rates):
        losses = []
        train(
            mlp(),
            fromax.fromage(float(rate)),
            data,
            steps=15,
            batch_size=32,
            on_steps=lambda batch, losses=losses: losses.extend(r["loss"] for r in batch),
        )
        np.testing.assert_allclose(results["loss"][i], losses, rtol=2e-5)
    assert (
        main(
            ["sweep", "--learning-rate", "log:1e-3:1e-1:3", "--steps", "10", "--out", str(tmp_path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "compiled once (1 trace for 3 runs)" in out
    assert len(json.loads((tmp_path / "sweep.json").read_text())["runs"]) == 3
    assert (tmp_path / "sweep.png").stat().st_size > 0
    # An optimiser whose learning rate has no default sweeps too.
    assert (
        main(
            [
                "sweep",
                "--optimizer",
                "adam",
                "--learning-rate",
                "1e-3,1e-2",
                "--hyper",
                "b1=0.8",
                "--steps",
                "5",
                "--out",
                str(tmp_path / "adam"),
            ]
        )
        == 0
    )
    assert "adam: 2 learning rates" in capsys.readouterr().out


def test_compare_trains_each_from_the_same_start(tmp_path, capsys):
    assert (
        main(
            [
                "compare",
                "--optimizers",
                "fromage,adam",
                "--learning-rate",
                "0.02",
                "--learning-rate",
                "1e-3",
                "--steps",
                "10",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "compare.json").read_text())
    assert [r["label"] for r in rows] == ["fromage lr=0.02", "adam lr=1e-3"]
    assert (tmp_path / "compare.png").stat().st_size > 0
    assert "fromage lr=0.02" in capsys.readouterr().out


def test_optimizers_lists_hyperparameters_and_defaults(capsys):
    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    fromage = out.split("\n\n")[0].splitlines()
    assert fromage[0].startswith("fromage: Fromage: ")
    assert fromage[1:] == [
        "  learning_rate=0.01: eta: the step, relative to ||W|| "
        "(a finite number >= 0, or a schedule)",
        "  p_bound=None: the largest ||W|| / ||W_0|| allowed "
        "(a finite number > 0, or a schedule; None: off)",
    ]
    assert "  learning_rate=required: eta, the step size" in out.split("\nadam: ")[1]
    assert "  neuron_axis=0: " in out and "(an integer)" in out
    # Every declared optimiser, in declaration order, each with every hyperparameter.
    heads = [line.split(":")[0] for line in out.splitlines() if line and line[0] != " "]
    assert heads == [s.name for s in declared("optimizer")]
    for declaration in declared("optimizer"):
        for hyperparameter in declaration.hyperparameters:
            assert f"  {hyperparameter.describe()}\n" in out
    # Fromage's family first, then the standard ones, as the README lists them.
    order = ["fromage", "nero", "madam", "lars", "lamb", "sgd", "adam", "adamw", "nadam"]
    order += ["lion", "rmsprop", "adagrad", "adafactor", "schedule_free_sgd", "schedule_free_adamw"]
    assert [name for name in heads if name in order] == order
    assert main(["optimizers", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()


def test_integer_hyperparameters_train(tmp_path, capsys):
    # An integer option is parsed as an integer (it was once read as a schedule and refused).
    nero = RunConfig.make(optimizer="nero", hyper={"neuron_axis": "-1"})
    assert nero.hyper_kwargs() == {"neuron_axis": -1}
    assert type(nero.hyper_kwargs()["neuron_axis"]) is int
    out = tmp_path / "nero"
    argv = ["train", "--optimizer", "nero", "--hyper", "neuron_axis=-1", "--steps", "5"]
    assert main([*argv, "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["steps"] == 5
    # With JAX's (in, out) kernels, neuron_axis=-1 keeps one moment per output column.
    state = nero.optimizer().init({"kernel": np.ones((4, 3), np.float32)})
    assert state.inner.second_moments["kernel"].shape == (3,)

    schedule_free = RunConfig.make(optimizer="schedule_free_sgd", hyper={"warmup_steps": "10"})
    assert schedule_free.hyper_kwargs() == {"warmup_steps": 10}
    out = tmp_path / "schedule_free"
    argv = ["train", "--optimizer", "schedule_free_sgd", "--learning-rate", "0.1"]
    argv += ["--hyper", "warmup_steps=10", "--steps", "5", "--out", str(out)]
    assert main(argv) == 0
    assert [r["step"] for r in _records(out)] == [1, 2, 3, 4, 5]
    assert "schedule_free_sgd lr=0.1: 5 steps" in capsys.readouterr().out


@pytest.fixture
def toy_with_a_choice():
    """A declared optimiser with a Choice, removed from the registry afterwards."""

    @declare(
        Hyperparameter("learning_rate", Number(fromax.NONNEGATIVE), "the step size"),
        Hyperparameter("mode", Choice(("fast", "exact")), "how to step"),
        summary="a toy for the command line's tests",
    )
    def toy(learning_rate=0.1, mode="exact"):
        return fromax.sgd(learning_rate)

    yield toy
    del _registry._REGISTRY["toy"]


def test_demo_runs_quickly(tmp_path, capsys):
    # `make demo` runs `fromax demo` as is: its model and length, read from its parser.
    args = _parser().parse_args(["demo"])
    _fill_defaults(args)
    demo_gpt = {"layers": 2, "width": 64, "heads": 4, "context": 64}
    assert (args.steps, args.model, _gpt_shape(args)) == (240, "gpt", demo_gpt)
    # The same command on a smaller GPT for fewer steps (the model's size changes the
    # run's cost, not its path): a short comparison with each optimiser's recipe, then
    # the command for the full one.
    small = ["--layers", "1", "--width", "16", "--heads", "2", "--context", "8"]
    assert main(["demo", *small, "--steps", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "on Shakespeare, a GPT of 1 layers, width 16, context 8, 4 steps" in out
    assert "validation loss" in out
    assert "adamw lr=warmup_cosine_decay" in out and "fromage lr=warmup_cosine_decay" in out
    assert "figure:" in out
    assert (
        out.rstrip()
        .splitlines()[-1]
        .endswith(
            "fromax compare --model gpt --dataset shakespeare --optimizers "
            + ",".join(_demo_optimizers())
            + " --steps 2000 --out runs/gpt"
        )
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--optimizer", "adamx"], "unknown optimizer 'adamx'; choose one of: fromage"),
        (["train", "--hyper", "nope=1"], "fromage has no hyperparameter 'nope'"),
        (["train", "--learning-rate", "cosine_decay(init_value=1"], "--learning-rate:"),
        (["train", "--learning-rate", "-1"], "learning_rate must be"),
        (["train", "--dataset", "missing.npz"], "no data set named 'missing.npz'"),
        (["train", "--model", "cnn", "--dataset", "breast_cancer"], "the cnn model needs images"),
        (["train", "--model", "transformer"], "unknown model 'transformer'"),
        (["train", "--batch-size", "5000"], "batch_size 5000 is larger than"),
        (["train", "--devices", "3", "--batch-size", "64"], "must be a multiple of devices"),
        (["train", "--resume", "nowhere"], "--resume nowhere: no run.json"),
        (["sweep", "--learning-rate", "fast"], "--learning-rate: expected values like"),
        (
            ["train", "--optimizer", "nero", "--hyper", "neuron_axis=1.5"],
            "--hyper neuron_axis: expected an integer, got '1.5'",
        ),
        (
            ["train", "--optimizer", "nero", "--hyper", "neuron_axis=5", "--steps", "2"],
            "neuron_axis=5 is out of range for a parameter of shape",
        ),
        (
            ["train", "--optimizer", "rmsprop", "--learning-rate", "0.1", "--hyper", "centered=1"],
            "--hyper centered: expected true or false, got '1'",
        ),
        (
            ["train", "--optimizer", "adafactor", "--hyper", "decay_offset=-1"],
            "adafactor's decay_offset must be an integer >= 0, got -1",
        ),
        (
            ["train", "--optimizer", "adamw", "--learning-rate", "0.1", "--hyper", "mask=x"],
            "--hyper mask cannot be set from the command line; use the Python API",
        ),
        (
            ["train", "--optimizer", "adam", "--learning-rate", "0.1", "--hyper", "b1=none"],
            "--hyper b1 cannot be none; it takes a finite number >= 0 and < 1, or a schedule",
        ),
        (["train", "--optimizer", "adam"], "adam needs learning_rate: pass --learning-rate"),
        (["train", "--optimizer", "clip"], "unknown optimizer 'clip'; choose one of: fromage"),
        (
            [
                "compare",
                "--optimizers",
                "fromage,adam",
                "--learning-rate",
                "1",
                "--learning-rate",
                "2",
                "--learning-rate",
                "3",
            ],
            "one per optimizer (2), got 3",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path):
    assert (
        main(
            [*argv, "--out", str(tmp_path)]
            if argv[0] != "train" or "--resume" not in argv
            else argv
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_a_bad_choice_lists_the_choices(toy_with_a_choice, capsys, tmp_path):
    argv = ["train", "--optimizer", "toy", "--hyper", "mode=quick", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["fromax train: error: --hyper mode must be one of 'fast', 'exact', got 'quick'"]
    config = RunConfig.make(optimizer="toy", hyper={"mode": "fast"})
    assert config.hyper_kwargs() == {"mode": "fast"}


def test_non_positive_steps_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--steps", "0"])
    assert info.value.code == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err


def test_malformed_npz_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.ones((10, 3), np.float32), y=np.ones((9,), np.int64))
    assert main(["train", "--dataset", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "y must be 10 integer labels" in capsys.readouterr().err
    good = tmp_path / "good.npz"
    rng = np.random.default_rng(0)
    np.savez(good, x=rng.normal(size=(80, 3)).astype(np.float32), y=rng.integers(0, 3, 80))
    assert (
        main(
            [
                "train",
                "--dataset",
                str(good),
                "--steps",
                "3",
                "--batch-size",
                "16",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )


def test_many_devices_equal_one_device():
    script = """
import jax, numpy as np, fromax
from fromax.lab._data import load_dataset
from fromax.lab._models import mlp
from fromax.lab._train import train
data = load_dataset("digits")
opt = fromax.fromage(fromax.schedules.warmup_cosine_decay(0.0, 0.05, 5, 20))
one = train(mlp(), opt, data, steps=20, batch_size=64, devices=1)
eight = train(mlp(), opt, data, steps=20, batch_size=64, devices=8)
assert jax.device_count() == 8
diff = max(float(np.max(np.abs(a - b)))
           for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(eight.params)))
replicated = {x.sharding.is_fully_replicated
              for x in jax.tree.leaves((eight.params, eight.opt_state))}
devices = {len(x.sharding.device_set) for x in jax.tree.leaves((eight.params, eight.opt_state))}
print(diff, replicated, devices)
"""
    devices = "--xla_force_host_platform_device_count=8"
    env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {devices}"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    diff, *rest = result.stdout.split(" ", 1)
    assert float(diff) < 1e-5
    # Parameters and optimiser state are replicated over all 8 devices alike.
    assert rest[0].strip() == "{True} {8}"
