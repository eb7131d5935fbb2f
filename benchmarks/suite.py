"""fromax's benchmark suite: every optimiser's step against optax's, and the machine's limit.

For each declared optimiser (``declared("optimizer")``, in declaration
order; ``EXTRAS`` adds what the suite knows of each) against optax's of the
same name, or its nearest equivalent (none: fromax's step alone):

- one jitted step (update + apply, parameters and state donated, blocked)
  at 1M, 10M and 100M float32 parameters in 20 leaves and 10M in 1,000
  leaves; fromax and optax take turns in one process (``_timing.py``), half
  the runs with fromax's buffers allocated first, half with optax's (the
  later allocation measured faster), and the table gives the ratio of the
  medians optax / fromax (above 1: fromax is faster);
- the machine's limit, measured in the same run at each size (jitted
  in-place a = a + s * c on donated buffers), and each step's effective
  bandwidth (the minimal bytes a step must move, over its time) as a
  fraction of it;
- the compiled step's temporary memory (``memory_analysis``), both libraries;
- the first call's time (trace, compile, run) in a fresh process per case;
- the eager (un-jitted) step's time;
- a scheduled step (learning rate under warm-up + cosine, and weight decay
  under a linear schedule where there is one) against a constant one;
- for the optimisers whose compiled step allocates large temporaries, and
  Adam for comparison: both libraries again with XLA:CPU's memory-optimised
  scheduler (``compiler_options``), at 100M parameters in 20 leaves;
- PyTorch's Adam (fused and foreach) and SGD with momentum, at the same
  sizes, where torch is importable.

Writes ``benchmarks/results/suite.md``, ``suite.json`` and ``ratios.png``
(the chart needs matplotlib: the ``plot`` extra).

    python benchmarks/suite.py [--quick] [--only adam,lamb] [--sizes 1e6,1e7,1e8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import optax

import fromax
from _timing import (
    AXPY_BYTES_PER_PARAM,
    MEMORY_SCHEDULER,
    JaxStep,
    axpy_step,
    copy_tree,
    eager_seconds,
    interleave,
    interleave_balanced,
    tree,
)
from fromax._core._registry import declared, spec

RESULTS = Path(__file__).parent / "results"


@dataclasses.dataclass(frozen=True)
class Extra:
    """What the suite knows of one optimiser beyond its declaration.

    ``bytes_per_param``: the least float32 traffic one step can move: every
    array it must read and write once, plus, for per-tensor norms, a first
    pass that reads what the norms need (they must be known before any
    parameter is written). Without it, the step is timed but its fraction of
    the machine's limit is not given.
    """

    bytes_per_param: int | None = None
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    optax_name: str = ""  # default: the same name
    optax_kwargs: dict[str, Any] | None = None  # default: kwargs
    scheduled: tuple[str, ...] = ("learning_rate",)


EXTRAS = {
    # Norms (w, g), then w, g read and w written.
    "fromage": Extra(20, {"learning_rate": 1e-2}),
    # fromax-only: against the nearest optax optimiser.
    "nero": Extra(20, {"learning_rate": 1e-2}, optax_name="fromage"),
    "madam": Extra(20, {"learning_rate": 1e-2}, optax_name="adam"),
    # Muon: g read, the momentum and w read and written; Newton-Schulz's matmuls are
    # compute-bound (benchmarks/muon.py times those against a plain matmul).
    "muon": Extra(20, {"learning_rate": 2e-2}),
    # Scion: the same traffic; optax has no Scion, so against its nearest, Muon.
    "scion": Extra(20, {"learning_rate": 1e-2}, optax_name="muon"),
    # Norms first (w and g), then g, w and the velocity.
    "lars": Extra(28, {"learning_rate": 1e-1, "weight_decay": 1e-4},
                  scheduled=("learning_rate", "weight_decay")),
    # Pass 1: g, mu, nu read, mu, nu written, norms reduced; pass 2: mu, nu, w read, w written.
    "lamb": Extra(40, {"learning_rate": 1e-3, "weight_decay": 1e-2},
                  scheduled=("learning_rate", "weight_decay")),
    # sgd: read g, read and write w and the velocity.
    "sgd": Extra(20, {"learning_rate": 1e-2, "momentum": 0.9},
                 scheduled=("learning_rate", "momentum")),
    # The Adam family: g, then w, mu and nu read and written.
    "adam": Extra(28, {"learning_rate": 1e-3}),
    "adamw": Extra(28, {"learning_rate": 1e-3, "weight_decay": 1e-2},
                   scheduled=("learning_rate", "weight_decay")),
    "nadam": Extra(28, {"learning_rate": 1e-3}),
    "lion": Extra(20, {"learning_rate": 1e-4}),
    "rmsprop": Extra(20, {"learning_rate": 1e-3}),
    "adagrad": Extra(20, {"learning_rate": 1e-2}),
    # Factored second moments are small: g for the row/column means, then g and w.
    "adafactor": Extra(16, {"learning_rate": 1e-3}),
    "schedule_free_sgd": Extra(20, {"learning_rate": 1e-2}),
    "schedule_free_adamw": Extra(28, {"learning_rate": 1e-3}),
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Case:
    """One declared optimiser, its suite data, and its optax counterpart (if any)."""

    name: str
    extra: Extra

    @property
    def bytes_per_param(self) -> int | None:
        return self.extra.bytes_per_param

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.extra.kwargs

    @property
    def scheduled(self) -> tuple[str, ...]:
        return self.extra.scheduled

    def fromax(self, **overrides: Any) -> Any:
        return spec(self.name).constructor(**{**self.kwargs, **overrides})

    def _optax_factory(self) -> Any:
        name = self.extra.optax_name or self.name
        return getattr(optax, name, None) or getattr(optax.contrib, name, None)

    @property
    def has_optax(self) -> bool:
        return self._optax_factory() is not None

    def optax(self) -> Any:
        """optax's counterpart, or None where optax has none of this name."""
        factory = self._optax_factory()
        kwargs = self.kwargs if self.extra.optax_kwargs is None else self.extra.optax_kwargs
        return None if factory is None else factory(**kwargs)

    @property
    def label(self) -> str:
        other = self.extra.optax_name or self.name
        return self.name if other == self.name else f"{self.name} (vs optax.{other})"


def build_cases() -> list[Case]:
    """Every declared optimiser, in declaration order.

    One with no ``EXTRAS`` entry is still timed: with a learning rate of 1e-3
    where it needs one, against optax's optimiser of the same name where
    there is one, and without the bandwidth fraction.
    """
    stale = set(EXTRAS) - {s.name for s in declared("optimizer")}
    if stale:
        raise ValueError(f"EXTRAS names optimisers that are not declared: {sorted(stale)}")
    out = []
    for declaration in declared("optimizer"):
        extra = EXTRAS.get(declaration.name)
        if extra is None:
            needs_rate = "learning_rate" in declaration and declaration["learning_rate"].required
            extra = Extra(kwargs={"learning_rate": 1e-3} if needs_rate else {})
        out.append(Case(declaration.name, extra))
    return out


# (params, leaves) of the timed steps.
CONFIGS = [(10**6, 20), (10**7, 20), (10**8, 20), (10**7, 1000)]
# The first call's time is mostly XLA's compile time, which grows with the number
# of tensors: 200 keeps the 30 fresh processes to about 3 minutes.
FIRST_CALL_LEAVES = 200


def samples_for(n_params: int) -> int:
    return max(8, min(40, int(4e8 / n_params)))


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": jax.devices()[0].platform,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "optax": optax.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_start": os.getloadavg()[0],
    }


def torch_contenders(n_params: int, leaves: int) -> dict[str, Any]:
    """PyTorch's Adam (fused, foreach) and SGD with momentum, where torch is installed."""
    try:
        import torch
    except ImportError:
        return {}
    torch.manual_seed(0)
    size = n_params // leaves
    made = {}
    for label, make in [
        ("torch Adam fused", lambda p: torch.optim.Adam(p, lr=1e-3, fused=True)),
        ("torch Adam foreach", lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True)),
        ("torch SGD foreach", lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, foreach=True)),
    ]:
        params = [torch.nn.Parameter(torch.randn(size)) for _ in range(leaves)]
        for p in params:
            p.grad = torch.randn(size)
        opt = make(params)

        def call(opt=opt):
            with torch.no_grad():
                opt.step()

        made[label] = call
    return made


def time_config(cases: list[Case], n_params: int, leaves: int, with_torch: bool) -> dict:
    """Every case at one size, and the limit; torch joins the adam and sgd rounds."""
    samples = samples_for(n_params)
    grads = tree(n_params, leaves, 2)
    base = tree(n_params, leaves, 3)
    limit_time = interleave({"axpy": axpy_step(copy_tree(base), grads)}, 2 * samples)["axpy"]
    limit = AXPY_BYTES_PER_PARAM * n_params / limit_time
    rows = {}

    def fraction(case: Case, seconds: float | None) -> float | None:
        # None where the suite has no byte count for the optimiser (no EXTRAS entry).
        if case.bytes_per_param is None or seconds is None:
            return None
        return case.bytes_per_param * n_params / seconds / limit

    for case in cases:
        steps = {"fromax": JaxStep(case.fromax(), fromax.apply_updates, copy_tree(base), grads)}
        if case.has_optax:
            steps["optax"] = JaxStep(case.optax(), optax.apply_updates, copy_tree(base), grads)
        times = interleave_balanced(steps, samples, lambda: copy_tree(base))
        theirs = times.get("optax")
        row = {
            "fromax_s": times["fromax"],
            "optax_s": theirs,
            "ratio": None if theirs is None else theirs / times["fromax"],
            "fraction_of_limit": fraction(case, times["fromax"]),
            "optax_fraction_of_limit": fraction(case, theirs),
            "fromax_temp_bytes": steps["fromax"].temp_bytes,
            "optax_temp_bytes": steps["optax"].temp_bytes if "optax" in steps else None,
        }
        rows[case.name] = row
        del steps
        print(
            f"  {n_params / 1e6:g}M/{leaves} {case.name}: fromax {times['fromax'] * 1e3:.2f} ms, "
            f"optax {_ms(theirs)}, {_ratio(row['ratio'])}, "
            f"{_fraction(row['fraction_of_limit'])} of the limit",
            flush=True,
        )
    if with_torch:
        for label, seconds in torch_times(n_params, leaves, samples).items():
            row = rows.get("adam" if "Adam" in label else "sgd")
            if row is not None:
                bytes_per_param = 28 if "Adam" in label else 20
                row[label] = seconds
                row[f"{label} fraction_of_limit"] = bytes_per_param * n_params / seconds / limit
    return {"params": n_params, "leaves": leaves, "limit_bytes_per_s": limit, "cases": rows}


def torch_times(n_params: int, leaves: int, samples: int) -> dict[str, float]:
    """PyTorch's steps, timed in a process of their own.

    In the same process as XLA, each library's worker threads spin for a while
    after a call and starve the other's: torch's fused Adam measured up to 100x
    slower there, even in rounds of its own.
    """
    command = [sys.executable, __file__, "--torch", str(n_params), str(leaves), str(samples)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def schedule_cost(cases: list[Case], n_params: int, leaves: int) -> dict[str, float]:
    """Scheduled step time over the constant one's, minus 1, interleaved."""
    samples = 2 * samples_for(n_params)
    grads, base = tree(n_params, leaves, 2), tree(n_params, leaves, 3)
    out = {}
    for case in cases:
        overrides = {}
        for name in case.scheduled:
            value = case.kwargs.get(name, 0.9)
            overrides[name] = (
                fromax.schedules.warmup_cosine_decay(0.0, value, 10, 100_000)
                if name == "learning_rate"
                else fromax.schedules.linear(value, value / 2, 100_000)
            )
        calls = {
            "constant": JaxStep(case.fromax(), fromax.apply_updates, copy_tree(base), grads),
            "scheduled": JaxStep(
                case.fromax(**overrides), fromax.apply_updates, copy_tree(base), grads
            ),
        }
        times = interleave_balanced(calls, samples, lambda: copy_tree(base))
        out[case.name] = times["scheduled"] / times["constant"] - 1
        print(f"  schedule {case.name}: {out[case.name]:+.1%}", flush=True)
    return out


def scheduler_cost(cases: list[Case], configs: list[tuple[int, int]]) -> dict[str, dict]:
    """Each library's step with XLA:CPU's memory-optimised scheduler, against the default."""
    out: dict[str, dict] = {}
    for n_params, leaves in configs:
        samples = samples_for(n_params)
        grads, base = tree(n_params, leaves, 2), tree(n_params, leaves, 3)
        key = f"{n_params / 1e6:g}M, {leaves} leaves"
        for case in cases:
            calls = {}
            for library, opt, apply in (
                ("fromax", case.fromax(), fromax.apply_updates),
                ("optax", case.optax(), optax.apply_updates),
            ):
                if opt is None:
                    continue
                for options, suffix in ((None, ""), (MEMORY_SCHEDULER, "_memory")):
                    calls[library + suffix] = JaxStep(opt, apply, copy_tree(base), grads, options)
            times = interleave_balanced(calls, samples, lambda base=base: copy_tree(base))
            out.setdefault(case.name, {})[key] = {f"{k}_s": v for k, v in times.items()}
            print(f"  scheduler {key} {case.name}: {times}", flush=True)
            del calls
    return out


def eager(cases: list[Case], n_params: int, leaves: int) -> dict[str, dict[str, float]]:
    grads, base = tree(n_params, leaves, 2), tree(n_params, leaves, 3)
    out = {}
    for case in cases:
        theirs = case.optax()
        out[case.name] = {
            "fromax_s": eager_seconds(case.fromax(), fromax.apply_updates, base, grads, 5),
            "optax_s": (
                None
                if theirs is None
                else eager_seconds(theirs, optax.apply_updates, base, grads, 5)
            ),
        }
        print(f"  eager {case.name}: {out[case.name]}", flush=True)
    return out


def first_call(name: str, library: str, n_params: int, leaves: int) -> float:
    """Seconds of the first jitted step (trace, compile, run) in this process."""
    case = next(c for c in build_cases() if c.name == name)
    opt = case.fromax() if library == "fromax" else case.optax()
    apply = fromax.apply_updates if library == "fromax" else optax.apply_updates
    grads, params = tree(n_params, leaves, 2), tree(n_params, leaves, 3)
    state = jax.block_until_ready(opt.init(params))

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return apply(params, updates), state

    start = time.perf_counter()
    jax.block_until_ready(jax.jit(step, donate_argnums=(0, 1))(params, state, grads))
    return time.perf_counter() - start


def first_calls(cases: list[Case], n_params: int, leaves: int) -> dict[str, dict[str, float]]:
    out = {}
    for case in cases:
        out[case.name] = {}
        for library in ("fromax", "optax") if case.has_optax else ("fromax",):
            command = [sys.executable, __file__, "--first-call", case.name, library,
                       str(n_params), str(leaves)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            out[case.name][f"{library}_s"] = float(done.stdout.strip().splitlines()[-1])
        out[case.name].setdefault("optax_s", None)
        print(f"  first call {case.name}: {out[case.name]}", flush=True)
    return out


def _no_sync(_: Any) -> None:
    """torch's CPU steps are synchronous."""


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.2f} s"


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _fraction(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.2f}"


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f}"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['platform']}), "
        f"Python {m['python']}, jax {m['jax']}, optax {m['optax']}"
        + (f", torch {m['torch']}" if m.get("torch") else "")
        + f"; load average {m['load_average_start']:.1f} at the start, "
        f"{m['load_average_end']:.1f} at the end; the suite took "
        f"{m['suite_minutes']:.1f} minutes.",
        "",
        "One jitted step (update + apply, donated), float32, medians of interleaved "
        "runs. Each cell: fromax's time, optax / fromax, and fromax's effective "
        "bandwidth as a fraction of the machine's limit (optax's in brackets).",
        "",
    ]
    configs = report["steps"]
    header = (
        "| optimiser | B/param | "
        + " | ".join(f"{c['params'] / 1e6:g}M, {c['leaves']} leaves" for c in configs)
        + " |"
    )
    lines += [header, "| --- | --- |" + " --- |" * len(configs)]
    names = [c.name for c in report["_cases"]]
    for case in report["_cases"]:
        cells = []
        for c in configs:
            r = c["cases"][case.name]
            cells.append(
                f"{_ms(r['fromax_s'])}, **{_ratio(r['ratio'])}**, "
                f"{_fraction(r['fraction_of_limit'])} ({_fraction(r['optax_fraction_of_limit'])})"
            )
        known = "-" if case.bytes_per_param is None else case.bytes_per_param
        lines.append(f"| {case.label} | {known} | " + " | ".join(cells) + " |")
    lines.append(
        "| limit (a += s*c) | 12 | "
        + " | ".join(f"{c['limit_bytes_per_s'] / 1e9:.1f} GB/s" for c in configs)
        + " |"
    )
    torch_rows = sorted({k for c in configs for r in c["cases"].values() for k in r
                         if k.startswith("torch") and "fraction" not in k})  # fmt: skip
    if torch_rows:
        lines += ["", "PyTorch, timed in a process of its own at each size "
                  "(time, fraction of the limit):", "",
                  "| | " + " | ".join(f"{c['params'] / 1e6:g}M, {c['leaves']} leaves"
                                       for c in configs) + " |",
                  "| --- |" + " --- |" * len(configs)]  # fmt: skip
        for label in torch_rows:
            cells = []
            for c in configs:
                r = next(r for r in c["cases"].values() if label in r)
                cells.append(f"{_ms(r[label])}, {r[f'{label} fraction_of_limit']:.2f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    extras = report["extras"]
    lines += [
        "",
        f"Other costs: temporary memory of the compiled step at "
        f"{extras['temp_config']}; first call (trace + compile + run, fresh process) "
        f"at {extras['first_call_config']}; eager step at {extras['eager_config']}; "
        f"a scheduled step ({extras['schedule_config']}) against a constant one.",
        "",
        "| optimiser | temp MiB fromax / optax | first call fromax / optax "
        "| eager fromax / optax | scheduled vs constant |",
        "| --- | --- | --- | --- | --- |",
    ]
    temp = next(c for c in configs if f"{c['params'] / 1e6:g}M, {c['leaves']} leaves"
                == extras["temp_config"])  # fmt: skip
    for name in names:
        t = temp["cases"][name]
        f = extras["first_call"].get(name)
        e = extras["eager"].get(name)
        s = extras["schedule"].get(name)
        lines.append(
            f"| {name} | {_mb(t['fromax_temp_bytes'])} / {_mb(t['optax_temp_bytes'])} | "
            + (f"{_ms(f['fromax_s'])} / {_ms(f['optax_s'])}" if f else "-")
            + " | "
            + (f"{_ms(e['fromax_s'])} / {_ms(e['optax_s'])}" if e else "-")
            + " | "
            + (f"{s:+.1%}" if s is not None else "-")
            + " |"
        )
    scheduler = extras.get("scheduler") or {}
    if scheduler:
        keys = list(next(iter(scheduler.values())))
        lines += [
            "",
            "XLA:CPU's memory-optimised scheduler (`jax.jit(step, compiler_options="
            "{'xla_cpu_scheduler_type': 'CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED'})`), "
            "for the steps with large temporaries and for Adam: each cell gives the "
            "time with it, and the default's time over it (above 1: the option helps), "
            "for fromax; then optax's time with it, and optax / fromax when both use it.",
            "",
            "| optimiser | " + " | ".join(keys) + " |",
            "| --- |" + " --- |" * len(keys),
        ]
        for name, by_config in scheduler.items():
            cells = []
            for key in keys:
                t = by_config[key]
                cells.append(
                    f"{_ms(t['fromax_memory_s'])}, {t['fromax_s'] / t['fromax_memory_s']:.2f}x; "
                    f"optax {_ms(t['optax_memory_s'])}, "
                    f"**{t['optax_memory_s'] / t['fromax_memory_s']:.2f}x**"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(report: dict, path: Path) -> bool:
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    configs = report["steps"]
    names = [c.name for c in report["_cases"]]
    width = 0.8 / len(configs)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4))
    for i, c in enumerate(configs):
        ratios = [c["cases"][n]["ratio"] or float("nan") for n in names]
        xs = [j + (i - (len(configs) - 1) / 2) * width for j in range(len(names))]
        ax.bar(xs, ratios, width, label=f"{c['params'] / 1e6:g}M params, {c['leaves']} leaves")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}x"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("optax time / fromax time")
    ax.set_title(f"One optimiser step, fromax against optax ({report['machine']['platform']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names (default: all)")
    parser.add_argument("--sizes", default="", help="params in 20 leaves, e.g. 1e6,1e7")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--first-call", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--torch", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        calls = torch_contenders(args.torch[0], args.torch[1])
        print(json.dumps(interleave(calls, args.torch[2], syncs=dict.fromkeys(calls, _no_sync))))
        return
    if args.first_call:
        name, library, n, leaves = args.first_call
        print(first_call(name, library, int(n), int(leaves)))
        return

    started = time.perf_counter()
    only = {s for s in args.only.split(",") if s}
    cases = [c for c in build_cases() if not only or c.name in only]
    unknown = only - {c.name for c in cases}
    if unknown:
        raise SystemExit(f"--only: not declared optimisers: {', '.join(sorted(unknown))}")
    configs = CONFIGS
    if args.sizes:
        configs = [(int(float(s)), 20) for s in args.sizes.split(",")]
    if args.quick:
        configs = [(10**5, 20), (10**5, 100)]
    with_torch = not args.no_torch
    # Declared optimisers the suite has no byte count for: timed, no bandwidth fraction.
    uncounted = [c.name for c in cases if c.bytes_per_param is None]
    report: dict[str, Any] = {"machine": machine(), "uncounted": uncounted}
    try:
        import torch

        report["machine"]["torch"] = torch.__version__
    except ImportError:
        with_torch = False
    print(report["machine"], "| no byte count:", ", ".join(uncounted) or "none", flush=True)

    report["steps"] = [time_config(cases, n, leaves, with_torch) for n, leaves in configs]
    n_mid = configs[0][0] if args.quick else 10**7
    report["extras"] = {
        "temp_config": f"{configs[-1][0] / 1e6:g}M, {configs[-1][1]} leaves",
        "first_call_config": f"{n_mid / 1e6:g}M, {FIRST_CALL_LEAVES} leaves",
        "eager_config": f"{configs[0][0] / 1e6:g}M, 20 leaves",
        "schedule_config": f"{n_mid / 1e6:g}M, 20 leaves",
    }
    report["extras"]["schedule"] = schedule_cost(cases, n_mid, 20)
    report["extras"]["eager"] = eager(cases, configs[0][0], 20)
    report["extras"]["first_call"] = first_calls(cases, n_mid, FIRST_CALL_LEAVES)
    # The optimisers with large temporaries, and Adam (none) to compare.
    temp = report["steps"][-1]["cases"]
    heavy = [
        c
        for c in cases
        if c.has_optax and (c.name == "adam" or (temp[c.name]["fromax_temp_bytes"] or 0) > 2**20)
    ]
    largest = [c for c in configs if c[1] == 20][-1:]
    report["extras"]["scheduler"] = scheduler_cost(heavy, largest)
    report["machine"]["load_average_end"] = os.getloadavg()[0]
    report["machine"]["suite_minutes"] = (time.perf_counter() - started) / 60
    report["_cases"] = cases

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(report)
    (out / "suite.md").write_text(table)
    del report["_cases"]
    (out / "suite.json").write_text(json.dumps(report, indent=1) + "\n")
    drawn = chart({**report, "_cases": cases}, out / "ratios.png")
    print(table)
    print(
        f"wrote {out}/suite.md, suite.json"
        + (", ratios.png" if drawn else " (no matplotlib: no chart)")
    )


if __name__ == "__main__":
    main()
