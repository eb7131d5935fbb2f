"""Training a small model with any optimiser: one run, resumable, on one or many devices.

The data is a classification set (``_data.Dataset``) or a text in windows
(``_text.TextData``); both give ``batch(batch_size, seed, step)``, and the
model's logits have the classes (or the next character's vocabulary) on
their last axis. The data order is a pure function of (seed, step): batch
``step`` is a slice of a permutation drawn from ``(seed, epoch)``, or
windows drawn from ``(seed, step)``. A run is therefore resumed
from its parameters, its optimiser state (which carries the step and every
schedule) and its step number alone, and ends bit for bit where an
uninterrupted run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from fromax._core._hyperparams import hyperparams
from fromax._core._transformation import GradientTransformation, apply_updates
from fromax.lab._data import Dataset, batch_indices
from fromax.lab._models import Model

__all__ = ["Run", "batch_indices", "evaluate", "init_run", "sweep", "train"]


class Run(NamedTuple):
    """Where a training run is: its parameters, optimiser state and step."""

    params: Any
    opt_state: Any
    step: int


def _shortest(value: Any) -> float:
    """A float32 as the shortest decimal that reads back as it (0.05, not 0.0500000007)."""
    return float(str(np.float32(value)))


def _target_log_probs_and_hits(model: Model, params: Any, x: jax.Array, y: jax.Array):
    """Each label's log-probability (a trailing axis of 1) and whether the argmax is it.

    Classes on the last axis: one label per example, or one per position (a
    language model's next characters).
    """
    logits = model.apply(params, x)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_probs, y[..., None], axis=-1), jnp.argmax(logits, axis=-1) == y


def _loss_and_accuracy(model: Model, params: Any, x: jax.Array, y: jax.Array):
    # The mean runs over every label: every example's, or every position's.
    picked, hits = _target_log_probs_and_hits(model, params, x, y)
    return -jnp.mean(picked), jnp.mean(hits)


# Examples evaluated at once: the whole Shakespeare validation split (1,742 windows)
# in one batch would hold about 1 GB of the GPT's activations.
EVALUATION_CHUNK = 256


def _held_out_metrics(model: Model, params: Any, x: jax.Array, y: jax.Array):
    """``_loss_and_accuracy`` over all of ``(x, y)``, ``EVALUATION_CHUNK`` examples at a time."""
    n = x.shape[0]
    chunks = -(-n // EVALUATION_CHUNK)
    padding = chunks * EVALUATION_CHUNK - n

    def pad(a: jax.Array) -> jax.Array:
        # The padding repeats the first example; its weight below is 0.
        return jnp.concatenate([a, jnp.broadcast_to(a[:1], (padding, *a.shape[1:]))])

    def per_example(xy):
        picked, hits = _target_log_probs_and_hits(model, params, *xy)
        nll, correct = -picked[..., 0], hits.astype(jnp.float32)
        positions = tuple(range(1, nll.ndim))  # a text's window: the mean over its positions
        return jnp.mean(nll, axis=positions), jnp.mean(correct, axis=positions)

    shape = (chunks, EVALUATION_CHUNK)
    xs, ys = (pad(a).reshape(*shape, *a.shape[1:]) for a in (x, y))
    nll, correct = jax.lax.map(per_example, (xs, ys))
    # Every example has as many positions, so the mean of its means is the overall mean.
    weight = (jnp.arange(chunks * EVALUATION_CHUNK) < n).astype(jnp.float32).reshape(shape)
    return jnp.sum(nll * weight) / n, jnp.sum(correct * weight) / n


# One compiled evaluation per model and shape, reused across calls and runs.
_evaluate = jax.jit(_held_out_metrics, static_argnums=0)


def evaluate(model: Model, params: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``params`` on ``(x, y)`` (per position for text).

    The examples are evaluated ``EVALUATION_CHUNK`` at a time, so a whole
    validation split fits in memory.
    """
    loss, accuracy = _evaluate(model, params, x, y)
    return float(loss), float(accuracy)


def init_run(model: Model, optimizer: GradientTransformation, data: Dataset, seed: int) -> Run:
    """Fresh parameters (drawn from ``seed``) and optimiser state, at step 0."""
    params = model.init(jax.random.key(seed), data.input_shape, data.num_classes)
    return Run(params, optimizer.init(params), 0)


def _check_batch(data: Dataset, batch_size: int, devices: int) -> None:
    data.check_batch(batch_size)
    if batch_size % devices:
        raise ValueError(f"batch_size {batch_size} must be a multiple of devices ({devices})")


def _mesh(devices: int) -> jax.sharding.Mesh | None:
    if devices == 1:
        return None
    available = jax.device_count()
    if devices > available:
        raise ValueError(
            f"devices={devices} but JAX sees {available}; on a CPU, set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} before starting"
        )
    return jax.make_mesh((devices,), ("data",), devices=jax.devices()[:devices])


def train(
    model: Model,
    optimizer: GradientTransformation,
    data: Dataset,
    *,
    steps: int,
    batch_size: int,
    seed: int = 0,
    devices: int = 1,
    start: Run | None = None,
    on_steps: Callable[[list[dict[str, float]]], None] = lambda records: None,
    log_every: int = 25,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[Run], None] = lambda run: None,
    eval_every: int = 0,
    on_eval: Callable[[int, Any], dict[str, float]] = lambda step, params: {},
) -> Run:
    """Trains ``model`` with ``optimizer`` until ``steps`` steps are done.

    Every step's training loss and accuracy and every hyperparameter's value
    are handed to ``on_steps`` in batches of ``log_every`` records
    (``{"step": 1, "loss": ..., "accuracy": ..., "learning_rate": ...}``,
    steps counted from 1); the first step's record comes alone, as soon as
    it is done, so a caller can time the steps after compilation. Every
    ``eval_every`` steps, ``on_eval(step, params)``'s values (say
    ``{"val_loss": ...}``) join that step's record. With ``devices > 1`` the batch is split across
    that many devices (data parallel, ``jax.sharding``); parameters and
    optimiser state are replicated.

    Args:
        model, optimizer, data: what to train, with what, on what.
        steps: the step to stop at (counted from the start of the run).
        batch_size: examples per step, a multiple of ``devices``.
        seed: the parameters' initialisation and the data order.
        devices: how many devices to split each batch across.
        start: resume from this run instead of a fresh one.
        on_steps: receives the records, ``log_every`` at a time.
        log_every: how many steps between calls of ``on_steps``.
        checkpoint_every: call ``on_checkpoint`` every this many steps (0: never).
        on_checkpoint: receives the run at each checkpoint.
        eval_every: call ``on_eval`` every this many steps (0: never).
        on_eval: the parameters after a step -> values to record with it.

    Returns:
        The run after ``steps`` steps.
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    _check_batch(data, batch_size, devices)
    if start is not None and start.step >= steps:
        # Returning it as step ``steps`` would record a step its state's count contradicts.
        raise ValueError(f"the run is at step {start.step}: steps must exceed it, got {steps}")
    run = start if start is not None else init_run(model, optimizer, data, seed)
    mesh = _mesh(devices)
    if mesh is not None:
        replicated = NamedSharding(mesh, PartitionSpec())
        split = NamedSharding(mesh, PartitionSpec("data"))
        run = run._replace(
            params=jax.device_put(run.params, replicated),
            opt_state=jax.device_put(run.opt_state, replicated),
        )
        shardings: dict[str, Any] = {
            "in_shardings": (replicated, replicated, split, split),
            "out_shardings": (replicated, replicated, replicated),
        }
    else:
        shardings = {}

    def step_fn(params, state, x, y):
        (loss, accuracy), grads = jax.value_and_grad(
            lambda p: _loss_and_accuracy(model, p, x, y), has_aux=True
        )(params)
        updates, state = optimizer.update(grads, state, params)
        record = {"loss": loss, "accuracy": accuracy, **hyperparams(state)}
        return apply_updates(params, updates), state, record

    step = jax.jit(step_fn, donate_argnums=(0, 1), **shardings)
    params, state = run.params, run.opt_state
    pending: list[tuple[int, dict[str, jax.Array]]] = []

    def flush() -> None:
        if pending:
            values = jax.device_get([r for _, r in pending])
            on_steps(
                [
                    {"step": s, **{k: _shortest(v) for k, v in r.items()}}
                    for (s, _), r in zip(pending, values, strict=True)
                ]
            )
            pending.clear()

    for t in range(run.step, steps):
        params, state, record = step(params, state, *data.batch(batch_size, seed, t))
        if eval_every and (t + 1) % eval_every == 0:
            record = {**record, **on_eval(t + 1, params)}
        pending.append((t + 1, record))
        if len(pending) >= log_every or t == run.step:
            flush()
        if checkpoint_every and (t + 1) % checkpoint_every == 0:
            flush()
            on_checkpoint(Run(params, state, t + 1))
    flush()
    return Run(params, state, steps)


def sweep(
    model: Model,
    make_optimizer: Callable[[jax.Array], GradientTransformation],
    values: np.ndarray,
    data: Dataset,
    *,
    steps: int,
    batch_size: int,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Trains one model per value, all in ONE compiled program (vmap over the value).

    Every member starts from the same parameters and sees the same batches;
    only the value given to ``make_optimizer`` differs. Hyperparameters are
    data, so this is a vmap, not a loop of compilations.

    Args:
        model, data, steps, batch_size, seed: as in :func:`train`.
        make_optimizer: builds the optimiser from one (traced) value; it is
            called once each time the program is traced (once, normally).
        values: the values to sweep over.

    Returns:
        ``{"loss": [values, steps] training losses, "test_loss": [values],
        "test_accuracy": [values]}``; for text, "test" is the whole validation split.
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    _check_batch(data, batch_size, 1)
    params = model.init(jax.random.key(seed), data.input_shape, data.num_classes)
    # Every batch's rows (or windows' starts) drawn up front; the batches
    # themselves are gathered inside the scan, from the training set on device.
    plan = np.stack([data.index(batch_size, seed, t) for t in range(steps)])
    train_arrays = tuple(jnp.asarray(a) for a in data.train_arrays())
    x_test, y_test = (jnp.asarray(a) for a in data.held_out())

    def one(value, plan):
        optimizer = make_optimizer(value)

        def body(carry, index):
            p, s = carry
            x, y = data.gather(train_arrays, index)
            loss, grads = jax.value_and_grad(lambda p: _loss_and_accuracy(model, p, x, y)[0])(p)
            updates, s = optimizer.update(grads, s, p)
            return (apply_updates(p, updates), s), loss

        (final, _), losses = jax.lax.scan(body, (params, optimizer.init(params)), plan)
        test_loss, test_accuracy = _held_out_metrics(model, final, x_test, y_test)
        return losses, test_loss, test_accuracy

    program = jax.jit(jax.vmap(one, in_axes=(0, None)))
    losses, test_loss, test_accuracy = jax.device_get(
        program(jnp.asarray(values, jnp.float32), jnp.asarray(plan))
    )
    return {"loss": losses, "test_loss": test_loss, "test_accuracy": test_accuracy}
