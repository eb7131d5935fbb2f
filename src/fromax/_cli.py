"""The ``fromax`` console command (also ``python -m fromax``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from fromax import schedules
    from fromax._data import load_digits
    from fromax._fromage import fromage
    from fromax._train import train

    data = load_digits(seed=args.seed)
    steps_per_epoch = len(data.x_train) // args.batch_size
    total = args.epochs * steps_per_epoch
    learning_rate = schedules.warmup_cosine_decay(
        init_value=0.0,
        peak_value=args.peak_learning_rate,
        warmup_steps=max(1, total // 10),
        decay_steps=total,
    )
    print(
        f"fromage on the UCI digits ({len(data.x_train)} train / {len(data.x_test)} test), "
        f"MLP 64-128-10, {args.epochs} epochs of {steps_per_epoch} steps, "
        f"learning rate {learning_rate}"
    )

    def report(line: dict[str, Any]) -> None:
        print(
            f"epoch {line['epoch']:3d}  step {line['steps']:4d}  "
            f"train loss {line['train_loss']:.4f}  test loss {line['test_loss']:.4f}  "
            f"test accuracy {line['test_accuracy']:.3f}  "
            f"learning rate {line['learning_rate']:.5f}  ({line['seconds']:.1f} s)",
            flush=True,
        )

    final = train(
        fromage(learning_rate),
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        report=report,
    )
    print(f"final test accuracy {final['test_accuracy']:.3f}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fromax", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a small MLP on the bundled digits with Fromage under warm-up + cosine",
    )
    demo.add_argument("--epochs", type=_positive_int, default=30)
    demo.add_argument("--batch-size", type=_positive_int, default=64)
    demo.add_argument("--peak-learning-rate", type=_positive_float, default=0.05)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    from fromax._schedule_command import add_schedule_command

    add_schedule_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
