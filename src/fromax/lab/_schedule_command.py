"""``fromax schedule SPEC [SPEC ...] --steps N [--plot FILE.png]``: see schedules.

Prints each schedule's key points (start, peak, phase boundaries, end) and
draws all of them on one chart: in the terminal, or with ``--plot`` as a
matplotlib figure (the optional ``fromax[plot]`` extra).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

__all__ = ["add_schedule_command", "key_points", "text_chart"]

_MARKS = "*o+x#@%&"
_INSTALL_PLOT = "pip install 'fromax[plot]'"


def add_schedule_command(commands: Any) -> None:
    """Adds the ``schedule`` subcommand to the ``fromax`` command's subparsers."""
    command = commands.add_parser(
        "schedule",
        help="print a schedule's key points and draw it (in the terminal, or --plot FILE.png)",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    command.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="a schedule spec, e.g. 'cosine_decay(1e-3, decay_steps=1000)', or a number",
    )
    command.add_argument(
        "--steps", type=_steps, required=True, metavar="N", help="show steps 0 to N"
    )
    command.add_argument("--plot", metavar="FILE.png", help="write a matplotlib figure")
    command.set_defaults(run=run)


def _steps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not 0 < value <= 2**24:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, 2**24], got {value}")
    return value


def _fail(message: str) -> int:
    print(f"fromax schedule: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Runs the command; returns the exit code (2 for a bad spec)."""
    from fromax import schedules

    parsed = []
    for spec in args.specs:
        try:
            parsed.append(schedules.from_spec(spec))
        except (ValueError, TypeError) as error:
            return _fail(f"{spec!r}: {str(error).splitlines()[0]}")
    if args.plot is not None:
        try:
            import matplotlib
        except ImportError:
            print(f"fromax schedule: --plot needs matplotlib: {_INSTALL_PLOT}", file=sys.stderr)
            return 1
    values = [_evaluate(schedule, args.steps) for schedule in parsed]
    for i, (schedule, curve) in enumerate(zip(parsed, values, strict=True)):
        mark = f"[{_MARKS[i % len(_MARKS)]}] " if len(parsed) > 1 else ""
        print(f"{mark}{schedule!r}")
        for label, step, value in key_points(schedule, curve):
            print(f"    {label:<9} step {step:>9}  {value:.6g}")
    if args.plot is None:
        print()
        print(text_chart(values))
        return 0
    matplotlib.use("Agg")
    _plot(args.specs, values, args.plot)
    print(f"wrote {args.plot}")
    return 0


def _evaluate(schedule: Any, steps: int) -> Any:
    import jax
    import jax.numpy as jnp
    import numpy as np

    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps + 1, dtype=jnp.int32)))


def key_points(schedule: Any, values: Any) -> list[tuple[str, int, float]]:
    """(label, step, value) for the start, the peak, each boundary and the end.

    ``values[t]`` is the schedule at step t, for t from 0 to the last step shown.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.warmup_cosine_decay(0.0, 1.0, warmup_steps=10, decay_steps=110)
        >>> values = [float(s(t)) for t in range(201)]
        >>> for point in key_points(s, values):
        ...     print(point)
        ('start', 0, 0.0)
        ('peak', 10, 1.0)
        ('boundary', 10, 1.0)
        ('boundary', 110, 0.0)
        ('end', 200, 0.0)
    """
    import numpy as np

    last = len(values) - 1
    peak = int(np.argmax(np.asarray(values)))
    points = [("start", 0, float(values[0])), ("peak", peak, float(values[peak]))]
    boundaries = sorted({math.ceil(b) for b in schedule._boundaries(last) if 0 < b <= last})
    points += [("boundary", b, float(values[b])) for b in boundaries[:50]]
    points.append(("end", last, float(values[last])))
    return points


def text_chart(curves: list[Any], width: int = 64, height: int = 12) -> str:
    """The curves (values at steps 0..N) drawn in characters, one mark per curve.

    Example:
        >>> print(text_chart([[0.0, 0.5, 1.0]], width=3, height=3))
                 1 |  *
                   | *
                 0 |*
                   +---
                    0 2
    """
    low = min(float(min(c)) for c in curves)
    high = max(float(max(c)) for c in curves)
    span = high - low or 1.0
    last = len(curves[0]) - 1
    grid = [[" "] * width for _ in range(height)]
    for index, curve in enumerate(curves):
        for column in range(width):
            step = round(column * last / max(width - 1, 1))
            row = round((float(curve[step]) - low) / span * (height - 1))
            grid[height - 1 - row][column] = _MARKS[index % len(_MARKS)]
    labels = [f"{high:.3g}"] + [""] * (height - 2) + [f"{low:.3g}"]
    lines = [
        f"{label:>10} |{''.join(row)}".rstrip() for label, row in zip(labels, grid, strict=True)
    ]
    lines.append(" " * 11 + "+" + "-" * width)
    axis = f"0{last!s:>{width - 1}}" if width > len(str(last)) else "0"
    lines.append(" " * 12 + axis)
    return "\n".join(lines)


def _plot(specs: list[str], values: list[Any], path: str) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for spec, curve in zip(specs, values, strict=True):
        label = spec if len(spec) <= 80 else spec[:77] + "..."
        axes.plot(np.arange(len(curve)), curve, label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("value")
    axes.set_title("fromax schedule")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
