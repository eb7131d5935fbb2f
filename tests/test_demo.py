"""The main job: `fromax demo` trains on the bundled digits and reports each epoch."""

from __future__ import annotations

import re

import pytest

from fromax import schedules
from fromax._cli import main
from fromax._data import load_digits


def test_demo_trains_and_reports_the_scheduled_learning_rate(capsys):
    assert main(["demo", "--epochs", "6"]) == 0
    out = capsys.readouterr().out
    epochs = re.findall(
        r"epoch +(\d+) +step +(\d+) .*test accuracy ([\d.]+) +"
        r"learning rate ([\d.]+)",
        out,
    )
    assert [int(e[0]) for e in epochs] == list(range(1, 7))
    # The learning rate printed is the schedule's value at the last step of the epoch.
    steps_per_epoch = int(epochs[0][1])
    total = 6 * steps_per_epoch
    lr = schedules.warmup_cosine_decay(0.0, 0.05, max(1, total // 10), total)
    for _, step, _, printed in epochs:
        assert float(printed) == pytest.approx(float(lr(int(step) - 1)), abs=1e-5)
    assert float(epochs[-1][2]) > 0.9


def test_digits_split_is_fixed_by_the_seed():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    assert (a.y_test == b.y_test).all() and not (a.y_test == c.y_test).all()
    assert len(a.x_train) + len(a.x_test) == 1797
    assert a.x_train.min() == 0.0 and a.x_train.max() == 1.0


def test_bad_arguments_exit_with_a_message(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--epochs", "0"])
    assert info.value.code == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err
