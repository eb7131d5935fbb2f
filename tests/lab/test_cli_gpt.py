"""The GPT through the console program: train, resume, sample, sweep, errors; the progress rate."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from fromax.lab._cli import main
from fromax.lab._progress import Progress

# A tiny GPT on a text of its own: 12 characters, so ln(12) = 2.48 nats is chance.
TINY = ["--model", "gpt", "--layers", "1", "--width", "16", "--heads", "2", "--context", "8"]
TEXT = "the cat sat on the mat. a hat, a bat; that rat!\n" * 40


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "cats.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture(scope="module")
def trained(text_file, tmp_path_factory):
    """60 steps of AdamW (its GPT recipe) with the held-out loss every 20."""
    out = tmp_path_factory.mktemp("gpt") / "run"
    argv = ["train", *TINY, "--data", str(text_file), "--optimizer", "adamw", "--steps", "60"]
    argv += ["--eval-every", "20", "--checkpoint-every", "30", "--out", str(out)]
    assert main(argv) == 0
    return out


def _records(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_train_reports_the_validation_loss_every_k_steps(trained):
    records = _records(trained)
    assert [r["step"] for r in records] == list(range(1, 61))
    evaluated = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evaluated] == [20, 40, 60]
    vocab = len(set(TEXT))
    losses = [r["val_loss"] for r in evaluated]
    # From about chance (ln 13 = 2.56) the repeated sentence is learned: well below it.
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < math.log(vocab) - 0.5 and losses[-1] < losses[0]
    config = json.loads((trained / "run.json").read_text())
    assert config["gpt"] == {"layers": 1, "width": 16, "heads": 2, "context": 8}
    assert config["vocabulary"] == "".join(sorted(set(TEXT)))
    # The recipe filled in AdamW's learning rate and hyperparameters, and says so.
    assert config["learning_rate"].startswith(
        "warmup_cosine_decay(init_value=0.0, peak_value=0.003"
    )
    assert config["hyper"] == {"b2": "0.99", "weight_decay": "0.1"}


def test_the_final_validation_loss_is_over_every_window_of_the_split(trained):
    # Every 20 steps the loss is on evenly spaced windows; the summary's is on the
    # whole split, side by side windows, computed here one window at a time.
    from fromax.lab._gpt import loss
    from fromax.lab._sample_command import _trained_gpt

    shape, vocabulary, params = _trained_gpt(trained)
    tokens = vocabulary.encode(TEXT[len(TEXT) * 9 // 10 :])
    starts = range(0, len(tokens) - shape.context, shape.context)
    assert len(starts) == 23  # 192 characters in windows of 8 and one target on
    losses = [
        float(loss(params, tokens[None, s : s + 8], tokens[None, s + 1 : s + 9], shape))
        for s in starts
    ]
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["validation_loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    last_evaluated = _records(trained)[-1]["val_loss"]
    assert summary["validation_loss"] != last_evaluated


def test_resumed_gpt_run_ends_bitwise_equal(trained, tmp_path, text_file):
    # The same run (the recipe's 60-step schedule given explicitly), stopped at 30, resumed.
    schedule = json.loads((trained / "run.json").read_text())["learning_rate"]
    part = tmp_path / "part"
    argv = ["train", *TINY, "--data", str(text_file), "--optimizer", "adamw", "--steps", "30"]
    argv += ["--learning-rate", schedule, "--eval-every", "20", "--out", str(part)]
    assert main(argv) == 0
    assert main(["train", "--resume", str(part), "--steps", "60"]) == 0
    with np.load(trained / "checkpoint.npz") as a, np.load(part / "checkpoint.npz") as b:
        leaves = [k for k in a.files if k != "__fromax__"]
        assert leaves and all(np.array_equal(a[k], b[k]) for k in leaves)
    assert _records(part) == _records(trained)


def test_sample_prints_the_prompt_and_length_characters_deterministically(trained, capsys):
    capsys.readouterr()
    argv = ["sample", "--run", str(trained), "--prompt", "the ", "--length", "40", "--seed", "3"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    text = first[:-1]  # the trailing newline the command adds
    assert text.startswith("the ") and len(text) == 4 + 40
    assert set(text) <= set(TEXT)
    assert main([*argv[:-2], "--seed", "4"]) == 0
    assert capsys.readouterr().out != first


def test_sample_refuses_characters_the_text_lacks(trained, capsys):
    assert main(["sample", "--run", str(trained), "--prompt", "ROMEO:"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--prompt" in err and "'EMORO:'" not in err
    assert "'MEOR:'" in err or "':EMOR'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "gpt", "--dataset", "digits"], "--model gpt reads text"),
        (["--model", "mlp", "--dataset", "shakespeare"], "needs --model gpt"),
        (["--layers", "2"], "add --model gpt"),
        (["--model", "gpt", "--width", "10", "--heads", "4"], "multiple of heads"),
    ],
)
def test_mismatched_model_and_data_exit_2_in_one_line(argv, message, tmp_path, capsys):
    assert main(["train", *argv, "--steps", "2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_resume_with_a_changed_text_is_refused(trained, tmp_path, capsys):
    run = tmp_path / "copy"
    run.mkdir()
    for name in ("run.json", "checkpoint.npz", "metrics.jsonl"):
        (run / name).write_bytes((trained / name).read_bytes())
    changed = tmp_path / "changed.txt"
    changed.write_text(TEXT + "Z")
    config = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**config, "data": str(changed)}))
    assert main(["train", "--resume", str(run), "--steps", "61"]) == 2
    assert "no longer has the characters" in capsys.readouterr().err


def test_sweep_trains_the_gpt_at_each_rate(text_file, tmp_path, capsys):
    argv = ["sweep", *TINY, "--data", str(text_file), "--optimizer", "adamw", "--steps", "20"]
    assert main([*argv, "--learning-rate", "1e-4,1e-2", "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "sweep.json").read_text())["runs"]
    slow, fast = (r["validation_loss"] for r in runs)
    # 20 steps at 1e-4 barely move from chance (ln 13 = 2.56); at 1e-2 the loss falls.
    assert abs(slow - math.log(len(set(TEXT)))) < 0.1 and fast < slow - 0.3
    assert "validation loss" in capsys.readouterr().out


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _record(step):
    return {"step": step, "loss": 1.0, "accuracy": 0.5, "learning_rate": 0.01}


def test_progress_rate_leaves_out_the_first_step_and_evaluations():
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(100, stream=out, tokens_per_step=16 * 64, clock=clock)
    clock.now = 30.0  # the first step: compiling took 30 s
    bar.update([_record(1)])
    assert bar.rate(1) is None and "steps/s" not in out.getvalue()
    clock.now = 32.0
    bar.exclude(0.5)  # an evaluation
    bar.update([_record(s) for s in range(2, 26)] + [{**_record(26), "val_loss": 2.25}])
    # 25 steps in 2.0 - 0.5 s: 16.7 steps/s; with the compile folded in it would be 0.8.
    assert bar.rate(26) == pytest.approx(25 / 1.5)
    line = out.getvalue().splitlines()[-1]
    assert "17 steps/s" in line and f"{25 / 1.5 * 1024:.0f} tokens/s" in line
    assert "val loss 2.2500" in line and "learning rate 0.01" in line
    bar.exclude(100.0)  # more than the elapsed time: the rate stays finite
    assert np.isfinite(bar.rate(26))
