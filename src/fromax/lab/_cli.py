"""The ``fromax`` console command (also ``python -m fromax``).

Commands: ``train``, ``compare``, ``sweep``, ``sample``, ``optimizers``, ``schedule``,
``demo``.
Every bad argument ends the program with exit code 2 and one line on
standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["main"]

DEMO_STEPS = 240
# The demo: each optimiser with its GPT recipe (lab/_recipes.py), on a small GPT.
DEMO_OPTIMIZERS = ("adamw", "muon", "fromage")
DEMO_GPT = {"layers": 2, "width": 64, "heads": 4, "context": 64}
GPT_DEFAULTS = {"layers": 4, "width": 128, "heads": 4, "context": 64}
FULL_COMPARISON = (
    "fromax compare --model gpt --dataset shakespeare --optimizers {names} "
    "--steps 2000 --out runs/gpt"
)


# Counts go into int32 step counters and array shapes: 2**31 - 1 at most.
MAX_COUNT = 2**31 - 1
# --seed feeds jax.random.key and numpy's generators: a uint32.
MAX_SEED = 2**32 - 1
# fromax sample --length: characters drawn one compiled step at a time.
MAX_LENGTH = 1_000_000
# Options of a run that may be left out: their defaults, filled in after parsing so
# that what the command line gave is known (``--resume`` refuses a change).
RUN_DEFAULTS = {
    "optimizer": "fromage",
    "model": "mlp",
    "seed": 0,
    "hyper": [],
    "devices": 1,
    "checkpoint_every": 0,
}
# Exit code of a run whose loss became NaN or infinite (README, --help).
DIVERGED = 3
EPILOG = (
    "Exit codes: 0 done; 2 a bad argument or file (one line on standard error); "
    f"{DIVERGED} the loss became NaN or infinite (the run stopped; summary.json says at "
    "which step)."
)


def _integer(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    if value > high:
        raise argparse.ArgumentTypeError(f"expected {what} up to {high}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _integer(text, 1, MAX_COUNT, "a positive integer")


def _seed(text: str) -> int:
    return _integer(text, 0, MAX_SEED, "an integer >= 0")


def _length(text: str) -> int:
    return _integer(text, 0, MAX_LENGTH, "an integer >= 0")


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _name_and_spec(text: str) -> tuple[str, str]:
    name, equals, spec = text.partition("=")
    if not equals or not name or not spec:
        raise argparse.ArgumentTypeError(f"expected NAME=SPEC, got {text!r}")
    return name.strip().replace("-", "_"), spec.strip()


def _add_run_arguments(parser: argparse.ArgumentParser, *, steps: int = 500) -> None:
    parser.set_defaults(default_steps=steps)
    parser.add_argument("--model", help="mlp, cnn or gpt (default: mlp)")
    parser.add_argument(
        "--dataset",
        help="digits (the default), breast_cancer, an .npz file with arrays x and y, "
        "or shakespeare (the default for gpt)",
    )
    parser.add_argument("--data", metavar="FILE.txt", help="a UTF-8 text file for --model gpt")
    parser.add_argument("--steps", type=_positive_int, help=f"default: {steps}")
    parser.add_argument(
        "--batch-size", type=_positive_int, help="default: 64, or 16 for --model gpt"
    )
    parser.add_argument("--seed", type=_seed, help="default: 0")
    parser.add_argument(
        "--eval-every",
        type=_positive_int,
        metavar="K",
        help="held-out loss every K steps (default: 250 for gpt, else 100)",
    )
    gpt = parser.add_argument_group("the GPT's shape (--model gpt)")
    for name, default in GPT_DEFAULTS.items():
        gpt.add_argument(f"--{name}", type=_positive_int, help=f"default: {default}")
    parser.add_argument(
        "--hyper",
        type=_name_and_spec,
        action="append",
        metavar="NAME=SPEC",
        help="any other hyperparameter, e.g. b1=0.95",
    )


def _gpt_shape(args: argparse.Namespace) -> dict[str, int] | None:
    given = {name: getattr(args, name) for name in GPT_DEFAULTS}
    if args.model != "gpt":
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            raise ValueError(f"--{extra[0]} sets the GPT's shape: add --model gpt")
        return None
    return {name: value or GPT_DEFAULTS[name] for name, value in given.items()}


# The lab trains small models: a GPT's blocks hold at most a billion parameters, and one
# step's attention scores (batch x heads x context^2) at most 2**31 numbers (8 GiB).
MAX_GPT_PARAMETERS = 10**9
MAX_ATTENTION_SCORES = 2**31


def _check_gpt_size(shape: dict[str, int], batch_size: int) -> None:
    blocks = 12 * shape["layers"] * shape["width"] ** 2
    if blocks > MAX_GPT_PARAMETERS:
        raise ValueError(
            f"--layers {shape['layers']} --width {shape['width']}: a GPT of about {blocks:.2g} "
            f"parameters; the lab trains up to {MAX_GPT_PARAMETERS:.0e}: lower them"
        )
    scores = batch_size * shape["heads"] * shape["context"] ** 2
    if scores > MAX_ATTENTION_SCORES:
        raise ValueError(
            f"--batch-size {batch_size} --heads {shape['heads']} --context {shape['context']}: "
            f"{scores:.2g} attention scores a step, more than {MAX_ATTENTION_SCORES:.2g} (8 GiB): "
            "lower --context or --batch-size"
        )


def _data_source(args: argparse.Namespace) -> str:
    if args.data and args.dataset:
        raise ValueError("give --dataset or --data FILE.txt, not both")
    if args.data:
        return args.data
    return args.dataset or ("shakespeare" if args.model == "gpt" else "digits")


def _config(args: argparse.Namespace, optimizer: str, learning_rate: str | None):
    """The run's config; with --model gpt, the optimiser's recipe fills in what is not given."""
    from fromax.lab._commands import RunConfig
    from fromax.lab._recipes import apply_recipe

    hyper = dict(args.hyper)
    batch_size = args.batch_size or (16 if args.model == "gpt" else 64)
    if args.model == "gpt":
        learning_rate, hyper = apply_recipe(optimizer, learning_rate, hyper, args.steps)
        _check_gpt_size(_gpt_shape(args) or {}, batch_size)
    return RunConfig.make(
        optimizer=optimizer,
        learning_rate=learning_rate,
        hyper=hyper,
        model=args.model,
        gpt=_gpt_shape(args),
        dataset=_data_source(args),
        data=args.data,
        steps=args.steps,
        batch_size=batch_size,
        seed=args.seed,
        eval_every=args.eval_every or (250 if args.model == "gpt" else 100),
        devices=getattr(args, "devices", 1),
        checkpoint_every=getattr(args, "checkpoint_every", 0),
    )


def _given(args: argparse.Namespace) -> dict[str, object]:
    """The run's options the command line gave (a fresh run's defaults are not given)."""
    names = [
        *RUN_DEFAULTS,
        "learning_rate",
        "dataset",
        "data",
        "steps",
        "batch_size",
        "eval_every",
        *GPT_DEFAULTS,
    ]
    given = {name: getattr(args, name, None) for name in names}
    given = {name: value for name, value in given.items() if value is not None}
    if getattr(args, "hyper", None) is not None:
        given["hyper"] = dict(args.hyper)  # NAME=SPEC pairs
    return given


def _fill_defaults(args: argparse.Namespace) -> None:
    args.given = _given(args)
    for name, default in RUN_DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, list(default) if isinstance(default, list) else default)
    if getattr(args, "steps", None) is None and hasattr(args, "default_steps"):
        args.steps = args.default_steps


def _train(args: argparse.Namespace) -> int:
    from fromax.lab._commands import train_command

    if args.resume:
        if args.out is not None and Path(args.out) != Path(args.resume):
            raise ValueError("give --resume DIR (it writes to DIR) or --out DIR, not both")
        if args.overwrite:
            raise ValueError("--overwrite starts a new run: give it with --out, not --resume")
        # The run's own arguments come from DIR/run.json; only --steps, --devices and
        # --checkpoint-every may change, and any other option given must agree with it.
        summary = train_command(
            args.given, Path(args.resume), resume=True, out=sys.stdout, err=sys.stderr
        )
    else:
        config = _config(args, args.optimizer, args.learning_rate)
        out = Path(args.out or "runs/train")
        summary = train_command(
            config, out, resume=False, overwrite=args.overwrite, out=sys.stdout, err=sys.stderr
        )
    return DIVERGED if summary.get("diverged_at_step") else 0


def _compare(args: argparse.Namespace, runs: Sequence[tuple[str, str | None]] | None = None) -> int:
    from fromax.lab._commands import compare_command

    if runs is None:
        names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
        if not names:
            raise ValueError(
                f"--optimizers: expected comma-separated names like fromage,adam, "
                f"got {args.optimizers!r}"
            )
        rates = args.learning_rate or []
        if len(rates) not in (0, 1, len(names)):
            raise ValueError(
                f"--learning-rate: give none, one for all, or one per optimizer "
                f"({len(names)}), got {len(rates)}"
            )
        rates = rates * len(names) if len(rates) == 1 else rates or [None] * len(names)
        runs = list(zip(names, rates, strict=True))
    configs = [_config(args, name, rate) for name, rate in runs]
    rows = compare_command(configs, Path(args.out), out=sys.stdout, err=sys.stderr)
    return DIVERGED if any(row.get("diverged_at_step") for row in rows) else 0


def _sweep(args: argparse.Namespace) -> int:
    from fromax.lab._commands import parse_values, sweep_command

    values = parse_values(args.learning_rate)
    sweep_command(_config(args, args.optimizer, None), values, Path(args.out), out=sys.stdout)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from fromax.lab._sample_command import sample_command

    sample_command(
        Path(args.run_dir),
        args.prompt,
        args.length,
        temperature=args.temperature,
        seed=args.seed,
        out=sys.stdout,
    )
    return 0


def _optimizers(args: argparse.Namespace) -> int:
    from fromax.lab._commands import optimizers_command

    optimizers_command(sys.stdout, markdown=args.markdown)
    return 0


def _demo_optimizers() -> list[str]:
    # Muon arrives with its own merge; the demo shows it once it is declared.
    from fromax._core._registry import declared

    names = {s.name for s in declared("optimizer")}
    return [name for name in DEMO_OPTIMIZERS if name in names]


def _demo(args: argparse.Namespace) -> int:
    names = _demo_optimizers()
    shape = _gpt_shape(args) or GPT_DEFAULTS  # the demo's model is the GPT
    print(
        f"fromax demo: {', '.join(names)} (each with its GPT recipe) on Shakespeare, a GPT of "
        f"{shape['layers']} layers, width {shape['width']}, context {shape['context']}, "
        f"{args.steps} steps"
    )
    code = _compare(args, runs=[(name, None) for name in names])
    print(f"the full comparison (default GPT): {FULL_COMPARISON.format(names=','.join(names))}")
    return code


class _Parser(argparse.ArgumentParser):
    """Errors in one line (argparse prints the whole usage first); subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fromax",
        description="Train, compare and sweep fromax optimisers on small bundled data sets.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train one model and write metrics, summary, figure", epilog=EPILOG
    )
    train.add_argument("--optimizer", help="default: fromage")
    train.add_argument(
        "--learning-rate",
        metavar="SPEC",
        help="a number or a schedule spec (default: the optimizer's)",
    )
    _add_run_arguments(train)
    train.add_argument(
        "--devices", type=_positive_int, help="split each batch across this many devices"
    )
    train.add_argument("--checkpoint-every", type=_positive_int, metavar="K")
    train.add_argument("--out", help="output folder (default: runs/train)")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (its files are deleted first)",
    )
    train.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run saved in DIR; only --steps, --devices and --checkpoint-every "
        "may change, and other options given must agree with DIR/run.json",
    )
    train.set_defaults(run=_train)

    compare = commands.add_parser(
        "compare", help="train the same model with several optimizers", epilog=EPILOG
    )
    compare.add_argument("--optimizers", default="fromage,adam", help="comma-separated names")
    compare.add_argument(
        "--learning-rate",
        action="append",
        metavar="SPEC",
        help="one for all, or once per optimizer, in order",
    )
    _add_run_arguments(compare)
    compare.add_argument("--out", default="runs/compare")
    compare.set_defaults(run=_compare, devices=1)

    sweep = commands.add_parser("sweep", help="train at many learning rates in one program")
    sweep.add_argument("--optimizer", help="default: fromage")
    sweep.add_argument(
        "--learning-rate", required=True, metavar="VALUES", help="1e-3,3e-3,1e-2 or log:1e-4:1e-1:7"
    )
    _add_run_arguments(sweep, steps=300)
    sweep.add_argument("--out", default="runs/sweep")
    sweep.set_defaults(run=_sweep, devices=1)

    sampling = commands.add_parser("sample", help="print text from a GPT trained by fromax train")
    sampling.add_argument(
        "--run", dest="run_dir", required=True, metavar="DIR", help="the run's output folder"
    )
    sampling.add_argument(
        "--prompt", default="\n", help="the text to continue (default: a newline)"
    )
    sampling.add_argument(
        "--length", type=_length, default=300, help=f"characters to draw (at most {MAX_LENGTH})"
    )
    sampling.add_argument(
        "--temperature",
        type=_finite_float,
        default=1.0,
        help="0: the most likely character each time",
    )
    sampling.add_argument("--seed", type=_seed, default=0)
    sampling.set_defaults(run=_sample)

    listing = commands.add_parser("optimizers", help="list optimizers with their hyperparameters")
    listing.add_argument(
        "--markdown", action="store_true", help="print the README's table of optimizers instead"
    )
    listing.set_defaults(run=_optimizers)

    demo = commands.add_parser(
        "demo", help="a short comparison of optimizers on a small GPT", epilog=EPILOG
    )
    _add_run_arguments(demo, steps=DEMO_STEPS)
    demo.add_argument("--out", default="runs/demo")
    demo.set_defaults(run=_demo, devices=1, model="gpt", eval_every=60, **DEMO_GPT)

    from fromax.lab._schedule_command import add_schedule_command

    add_schedule_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    _fill_defaults(args)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, OverflowError) as error:
        # OSError: a file that vanished, a full disk, a folder made read-only mid-run.
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"fromax {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
