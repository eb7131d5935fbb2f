"""Bundled data sets, users' files, and the two models."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
from fromax.lab._data import load_dataset
from fromax.lab._models import cnn, mlp
from fromax.lab._train import evaluate, train


def test_digits_split_is_fixed_by_the_seed():
    a, b, c = (load_dataset("digits", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert len(a.x_train) + len(a.x_test) == 1797
    assert a.x_train.shape[1:] == (8, 8)
    assert a.x_train.min() == 0.0 and a.x_train.max() == 1.0
    assert sorted(np.unique(a.y_train)) == list(range(10))


def test_breast_cancer_is_standardised_with_the_training_split():
    data = load_dataset("breast_cancer")
    assert data.x_train.shape == (455, 30) and data.num_classes == 2
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-4)
    assert abs(float(data.x_test.mean())) > 1e-4  # test rows use the training statistics


def test_cnn_learns_the_digits():
    data = load_dataset("digits")
    model = cnn()
    run = train(model, fromax.adam(3e-3), data, steps=150, batch_size=64)
    _, accuracy = evaluate(model, run.params, data.x_test, data.y_test)
    assert accuracy > 0.85
    logits = model.apply(run.params, jnp.asarray(data.x_test[:3]))
    assert logits.shape == (3, 10)


def test_mlp_layers_have_the_stated_initialisation():
    params = mlp((32,)).init(jax.random.key(0), (64,), 10)
    assert [p["w"].shape for p in params] == [(64, 32), (32, 10)]
    assert float(jnp.std(params[0]["w"])) == pytest.approx(1 / 8, rel=0.1)
    assert all(float(jnp.abs(p["b"]).max()) == 0 for p in params)


def test_python_dash_m_fromax():
    result = subprocess.run(
        [sys.executable, "-m", "fromax", "optimizers"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fromage: Fromage: ")
    assert lines[1].startswith("  learning_rate=0.01: ") and lines[2].startswith("  p_bound=None: ")
