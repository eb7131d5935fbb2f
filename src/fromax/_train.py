"""A small training loop in plain JAX: an MLP classifier trained with any optimiser."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax._base import GradientTransformation, apply_updates
from fromax._data import Dataset
from fromax._hyperparams import hyperparams

__all__ = ["init_mlp", "mlp", "train"]


def init_mlp(key: jax.Array, sizes: Sequence[int]) -> list[dict[str, jax.Array]]:
    """Weights drawn N(0, 1/fan_in) and zero biases, one dict per layer."""
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (fan_in, fan_out), jnp.float32) / np.sqrt(fan_in)
        layers.append({"w": w, "b": jnp.zeros(fan_out, jnp.float32)})
    return layers


def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    """Logits of a ReLU multi-layer perceptron."""
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def _loss_and_accuracy(params: Any, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    logits = mlp(params, x)
    loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))
    return loss, jnp.mean(jnp.argmax(logits, axis=1) == y)


def train(
    optimizer: GradientTransformation,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int,
    hidden: Sequence[int] = (128,),
    seed: int = 0,
    report: Callable[[dict[str, Any]], None] = lambda line: None,
) -> dict[str, Any]:
    """Trains an MLP on ``data``; calls ``report`` once per epoch.

    Each report holds the epoch, the mean training loss, the test loss and
    accuracy, every hyperparameter's latest value, and the elapsed seconds.

    Returns:
        The last report, with the trained ``params`` added.
    """
    if epochs <= 0 or batch_size <= 0:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs}, {batch_size}")
    key = jax.random.key(seed)
    params = init_mlp(key, [data.x_train.shape[1], *hidden, data.num_classes])
    state = optimizer.init(params)
    x_test, y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)

    @jax.jit
    def step(params, state, x, y):
        (loss, _), grads = jax.value_and_grad(_loss_and_accuracy, has_aux=True)(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return apply_updates(params, updates), state, loss

    evaluate = jax.jit(_loss_and_accuracy)
    rng = np.random.default_rng(seed)
    n_batches = len(data.x_train) // batch_size
    start = time.perf_counter()
    line: dict[str, Any] = {}
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(data.x_train))
        losses = []
        for i in range(n_batches):
            batch = order[i * batch_size : (i + 1) * batch_size]
            params, state, loss = step(params, state, data.x_train[batch], data.y_train[batch])
            losses.append(loss)
        test_loss, test_accuracy = evaluate(params, x_test, y_test)
        line = {
            "epoch": epoch,
            "steps": epoch * n_batches,
            "train_loss": float(np.mean(jax.device_get(losses))),
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
            **{k: float(v) for k, v in hyperparams(state).items()},
            "seconds": time.perf_counter() - start,
        }
        report(line)
    return {**line, "params": params}
