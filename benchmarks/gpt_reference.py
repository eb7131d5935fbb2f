"""The small GPT on tiny-shakespeare with fromax's AdamW: the reference run, on demand.

The default model (4 layers, width 128, 4 heads, context 64) and batch 16,
trained with the recipe of REFERENCE.md's small-LM table: AdamW, peak 3e-3,
linear warm-up over 100 steps then cosine to 0 (over ``--schedule-steps``,
the run's length unless given), weight decay 0.1, b2 0.99. Weight decay
applies to the blocks' matrices and the head, not to the embeddings or the
norms' gains (``_gpt.decay_mask``; ``--decay all`` decays every leaf, as
optax's ``adamw`` does with no mask).

Every ``--eval-every`` steps it prints the step, the mean training loss since
the last row, the validation loss (the whole last 10%, ``fromax compare``'s
final figure: every window of 64 characters side by side), the
training seconds so far (compilation and evaluation left out), the
training tokens per second since the last row, and the time the validation
loss took (its first includes compiling it). The reference's 500-step row
comes from a 2,000-step run, so compare it with
``--steps 500 --schedule-steps 2000``.

    python benchmarks/gpt_reference.py [--steps 2000] [--schedule-steps N] [--seed 0]
        [--library fromax|optax]
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import numpy as np
import optax

import fromax
from fromax import schedules
from fromax.lab import _gpt
from fromax.lab._text import disjoint_windows, load_corpus, train_batch, validation_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--schedule-steps", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--b2", type=float, default=0.99)
    parser.add_argument("--decay", choices=("matrices", "all"), default="matrices")
    # optax's AdamW on the same model, data and schedule: the reference recipe's own library.
    parser.add_argument("--library", choices=("fromax", "optax"), default="fromax")
    args = parser.parse_args()

    corpus = load_corpus("shakespeare")
    config = _gpt.DEFAULT_CONFIG
    vocab = corpus.vocabulary.size
    params = _gpt.init(jax.random.key(args.seed), vocab, config)
    learning_rate = schedules.warmup_cosine_decay(
        0.0, args.learning_rate, args.warmup, args.schedule_steps or args.steps
    )
    mask = _gpt.decay_mask if args.decay == "matrices" else None
    if args.library == "optax":
        optimizer = optax.adamw(
            optax.warmup_cosine_decay_schedule(
                0.0, args.learning_rate, args.warmup, args.schedule_steps or args.steps
            ),
            b2=args.b2,
            weight_decay=args.weight_decay,
            mask=mask,
        )
    else:
        optimizer = fromax.adamw(
            learning_rate, b2=args.b2, weight_decay=args.weight_decay, mask=mask
        )
    state = optimizer.init(params)
    loss_fn = functools.partial(_gpt.loss, config=config)
    val_x, val_y = disjoint_windows(corpus.validation, config.context)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return fromax.apply_updates(params, updates), state, loss

    print(
        f"GPT {config} on {corpus.name} ({vocab} characters, "
        f"{_gpt.parameter_count(vocab, config):,} parameters), batch {args.batch_size}; "
        f"{args.library}'s adamw({learning_rate!r}, b2={args.b2}, "
        f"weight_decay={args.weight_decay}, "
        f"decay on {args.decay}); jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    x, y = train_batch(corpus.train, config.context, args.batch_size, args.seed, 0)
    start = time.perf_counter()
    compiled = step.lower(params, state, x, y).compile()
    print(f"compiled the step in {time.perf_counter() - start:.1f} s")
    print(f"{'step':>6} {'train':>7} {'val':>7} {'seconds':>8} {'tokens/s':>9} {'eval s':>7}")

    trained, losses, interval_start = 0.0, [], time.perf_counter()
    for t in range(args.steps):
        x, y = train_batch(corpus.train, config.context, args.batch_size, args.seed, t)
        params, state, loss = compiled(params, state, x, y)
        losses.append(loss)
        if (t + 1) % args.eval_every == 0 or t + 1 == args.steps:
            train_loss = float(np.mean(jax.device_get(losses)))
            elapsed = time.perf_counter() - interval_start
            trained += elapsed
            tokens = len(losses) * args.batch_size * config.context
            eval_start = time.perf_counter()
            val = validation_loss(loss_fn, params, val_x, val_y)
            print(
                f"{t + 1:>6} {train_loss:>7.3f} {val:>7.3f} {trained:>8.1f} "
                f"{tokens / elapsed:>9.0f} {time.perf_counter() - eval_start:>7.1f}",
                flush=True,
            )
            losses, interval_start = [], time.perf_counter()


if __name__ == "__main__":
    main()
