"""Runs are never lost: --out refuses a run unless --overwrite, --resume keeps the run's
arguments and goes forward, a killed run's temporaries are cleaned, a diverged run says so."""

from __future__ import annotations

import json
import shutil

import pytest

import fromax
from fromax.lab._cli import DIVERGED, main

TINY = ["--steps", "4", "--batch-size", "32", "--checkpoint-every", "2"]


def _strict_json(text: str):
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 4-step run of the default model, checkpointed at steps 2 and 4 (not modified)."""
    folder = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", *TINY, "--out", str(folder)]) == 0
    return folder


@pytest.fixture
def run_copy(finished_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(finished_run, folder)
    return folder


def test_out_holding_a_run_is_refused_and_overwrite_replaces_it(run_copy, capsys):
    before = {p.name: p.read_bytes() for p in run_copy.iterdir()}
    capsys.readouterr()
    assert main(["train", "--steps", "2", "--out", str(run_copy)]) == 2
    line = _one_error_line(capsys)
    assert "already holds a run" in line and "--resume" in line and "--overwrite" in line
    assert {p.name: p.read_bytes() for p in run_copy.iterdir()} == before  # untouched

    (run_copy / "notes.txt").write_text("mine")
    argv = ["train", "--steps", "2", "--batch-size", "32", "--out", str(run_copy), "--overwrite"]
    assert main(argv) == 0
    assert (run_copy / "notes.txt").read_text() == "mine"  # only the run's files go
    lines = (run_copy / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]
    assert fromax.load_checkpoint_metadata(run_copy / "checkpoint.npz")["step"] == 2
    assert json.loads((run_copy / "run.json").read_text())["steps"] == 2


@pytest.mark.parametrize("steps", ["4", "3"])
def test_resume_refuses_a_target_at_or_below_the_checkpoint(finished_run, steps, capsys):
    assert main(["train", "--resume", str(finished_run), "--steps", steps]) == 2
    line = _one_error_line(capsys)
    assert "the checkpoint is at step 4" in line and "--steps N with N > 4" in line


@pytest.mark.parametrize(
    "option, differs",
    [
        (["--optimizer", "adam"], "--optimizer adam differs from the run's fromage"),
        (["--learning-rate", "0.5"], "--learning-rate 0.5 differs from the run's None"),
        (["--hyper", "p_bound=2"], "--hyper p_bound=2 differs from the run's p_bound=None"),
        (["--batch-size", "16"], "--batch-size 16 differs from the run's 32"),
        (["--seed", "3"], "--seed 3 differs from the run's 0"),
        (["--model", "cnn"], "--model cnn differs from the run's mlp"),
    ],
)
def test_resume_refuses_options_that_change_the_run(finished_run, option, differs, capsys):
    assert main(["train", "--resume", str(finished_run), "--steps", "8", *option]) == 2
    line = _one_error_line(capsys)
    assert differs in line and "start a new run with --out" in line


def test_resume_cleans_temporaries_and_records_its_new_target(run_copy, capsys):
    # What a run killed while saving leaves: numpy's half-written checkpoint and ours.
    planted = [run_copy / ".checkpoint.npz.k1ll3d.tmp", run_copy / "run.json.tmp"]
    for path in planted:
        path.write_bytes(b"\0" * 1000)
    with (run_copy / "metrics.jsonl").open("a") as f:
        f.write('{"step": 5, "loss"')  # a half-written line: the run was killed mid-write
    argv = ["train", "--resume", str(run_copy), "--steps", "6", "--optimizer", "fromage"]
    assert main(argv) == 0
    assert not any(path.exists() for path in planted)
    assert json.loads((run_copy / "run.json").read_text())["steps"] == 6
    lines = (run_copy / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    # The run is at its target: resuming again without a new one is refused.
    capsys.readouterr()
    assert main(["train", "--resume", str(run_copy)]) == 2
    assert "the checkpoint is at step 6" in _one_error_line(capsys)


def test_a_diverged_run_writes_valid_json_and_exits_3(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--optimizer", "sgd", "--learning-rate", "1e30", "--steps", "5"]
    assert main([*argv, "--batch-size", "32", "--out", str(out)]) == DIVERGED == 3
    err = capsys.readouterr().err.strip().splitlines()  # the progress, then one line
    said = [line for line in err if "fromax train:" in line]
    assert len(said) == 1 and err[-1].endswith(said[0]) and "Traceback" not in "".join(err)
    assert "the loss became NaN or infinite at step 2" in said[0]
    summary = _strict_json((out / "summary.json").read_text())
    assert summary["diverged_at_step"] == 2 and summary["train_loss"] is None
    records = [_strict_json(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and records[-1]["loss"] is None
    assert not (out / "checkpoint.npz").exists()  # no checkpoint of NaN parameters

    argv = ["compare", "--optimizers", "sgd", "--learning-rate", "1e30", "--steps", "3"]
    assert main([*argv, "--batch-size", "32", "--out", str(tmp_path / "c")]) == 3
    rows = _strict_json((tmp_path / "c" / "compare.json").read_text())
    assert rows[0]["diverged_at_step"] == 2 and rows[0]["train_loss"] is None


def test_a_sweep_with_a_diverged_value_writes_valid_json(tmp_path, capsys):
    argv = ["sweep", "--optimizer", "sgd", "--learning-rate", "0.1,1e30", "--steps", "3"]
    assert main([*argv, "--batch-size", "32", "--out", str(tmp_path)]) == 0
    runs = _strict_json((tmp_path / "sweep.json").read_text())["runs"]
    assert runs[0]["final_train_loss"] > 0 and runs[1]["final_train_loss"] is None
