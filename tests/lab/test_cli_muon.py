"""The command line knows Muon and Scion: listed and trained."""

from __future__ import annotations

import json

import pytest

from fromax.lab._cli import main


def test_optimizers_lists_muon_and_scion(capsys):
    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    for name in ("muon", "scion"):
        assert name in out
    assert "ns_coefficients" in out and "adam_learning_rate" in out and "radius" in out


@pytest.mark.parametrize(
    ("optimizer", "hyper"),
    [
        ("muon", ["momentum=linear(0.85, 0.95, 20)", "weight_decay=0.01"]),
        ("scion", ["radius=4.0", "unconstrained=true"]),
    ],
)
def test_train_with_muon_and_scion(optimizer, hyper, tmp_path, capsys):
    out = tmp_path / optimizer
    argv = ["train", "--optimizer", optimizer, "--learning-rate", "0.05", "--steps", "30"]
    argv += ["--batch-size", "32", "--out", str(out)]
    for h in hyper:
        argv += ["--hyper", h]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    # 30 steps on the bundled digits: the loss falls from log(10) = 2.30.
    assert summary["train_loss"] < 1.5
    assert f"{optimizer} lr=0.05" in capsys.readouterr().out
