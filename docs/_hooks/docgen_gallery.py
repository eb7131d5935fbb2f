"""The schedule gallery: a plot of every schedule class in ``fromax.schedules``.

Each schedule is drawn from a spec: the curated one below, or else the first
call of it in its docstring's example (read by ``schedules.from_spec``, so
nothing is evaluated). A schedule added to ``fromax.schedules.__all__``
appears here with no change to this file; one with neither stops the build
with a message saying what to add.
"""

from __future__ import annotations

import inspect
import io
import re
from typing import Any

from fromax import schedules

# name: (spec, steps shown). Typical settings, readable on one plot.
GALLERY = {
    "constant": ("constant(1e-3)", 1000),
    "linear": ("linear(init_value=0.0, end_value=1e-3, transition_steps=800)", 1000),
    "polynomial": ("polynomial(1e-3, 0.0, power=2.0, transition_steps=800)", 1000),
    "exponential_decay": (
        "exponential_decay(1e-3, transition_steps=200, decay_rate=0.5, staircase=True)",
        1000,
    ),
    "piecewise_constant": ("piecewise_constant(1e-3, [[300, 0.3], [600, 0.3]])", 1000),
    "piecewise_linear": ("piecewise_linear([0, 100, 600, 1000], [0.0, 1e-3, 5e-4, 0.0])", 1000),
    "cosine_decay": ("cosine_decay(1e-3, decay_steps=800, alpha=0.1)", 1000),
    "warmup_cosine_decay": (
        "warmup_cosine_decay(0.0, 1e-3, warmup_steps=100, decay_steps=1000, end_value=1e-5)",
        1000,
    ),
    "warmup_constant": ("warmup_constant(0.0, 1e-3, warmup_steps=100)", 1000),
    "warmup_exponential_decay": (
        "warmup_exponential_decay(0.0, 1e-3, warmup_steps=100, transition_steps=200, "
        "decay_rate=0.5)",
        1000,
    ),
    "inverse_sqrt": ("inverse_sqrt(0.0, 1e-3, warmup_steps=100)", 1000),
    "rex": ("rex(1e-3, decay_steps=1000)", 1000),
    "warmup_stable_decay": (
        "warmup_stable_decay(0.0, 1e-3, warmup_steps=100, decay_steps=1000, "
        "cooldown_shape='1-sqrt')",
        1000,
    ),
    "sgdr": ("sgdr(1e-3, decay_steps=150, t_mult=2.0, m_mul=0.7, warmup_steps=20)", 1000),
    "one_cycle": ("one_cycle(1000, peak_value=1e-3)", 1000),
    "cyclic": ("cyclic(1e-4, 1e-3, step_size_up=100, mode='triangular2')", 1000),
    "join": (
        "join([linear(0.0, 1e-3, 100), constant(1e-3), cosine_decay(1e-3, 300)], [100, 700])",
        1000,
    ),
    "scale": ("scale(cosine_decay(1.0, 1000), 1e-3)", 1000),
    "product": ("product([linear(0.0, 1.0, 100), sgdr(1e-3, 300)])", 1000),
    "clip": ("clip(inverse_sqrt(0.0, 1e-3, warmup_steps=50), min_value=2e-4)", 1000),
    "offset": ("offset(warmup_cosine_decay(0.0, 1e-3, 100, 700), 200)", 1000),
}

# Schedule classes that have no spec, so no plot.
WITHOUT_SPEC = {"function": "it wraps a Python callable, which has no text form"}


def schedule_classes() -> list[str]:
    """The names in ``fromax.schedules.__all__`` that are schedule classes."""
    return [
        name
        for name in schedules.__all__
        if inspect.isclass(getattr(schedules, name))
        and issubclass(getattr(schedules, name), schedules.Schedule)
        and getattr(schedules, name) is not schedules.Schedule
    ]


def _call_in_example(name: str) -> str | None:
    """The first ``schedules.NAME(...)`` call of NAME's docstring example, as a spec."""
    doc = inspect.getdoc(getattr(schedules, name)) or ""
    code = " ".join(
        line.strip()[4:] for line in doc.splitlines() if line.strip()[:4] in (">>> ", "... ")
    )
    start = code.find(f"schedules.{name}(")
    if start < 0:
        return None
    depth = 0
    for end in range(start, len(code)):
        depth += {"(": 1, ")": -1}.get(code[end], 0)
        if code[end] == ")" and depth == 0:
            call = re.sub(r"\s+", " ", code[start : end + 1].replace("schedules.", ""))
            return re.sub(r"([(\[]) | ([)\]])", r"\1\2", call)
    return None


def gallery_specs() -> list[tuple[str, str, int]]:
    """``(name, spec, steps)`` for every schedule class with a spec."""
    specs = []
    for name in schedule_classes():
        if name in WITHOUT_SPEC:
            continue
        if name in GALLERY:
            spec, steps = GALLERY[name]
        else:
            spec = _call_in_example(name)
            if spec is None:
                raise ValueError(
                    f"schedule gallery: no spec for {name!r}; add one to GALLERY in "
                    "docs/_hooks/docgen_gallery.py, or a call of it to its docstring example"
                )
            steps = _steps_to_show(schedules.from_spec(spec))
        schedules.from_spec(spec)  # a bad spec names itself here
        specs.append((name, spec, steps))
    return specs


def _steps_to_show(schedule: Any) -> int:
    """A quarter past the last phase boundary, or 100 steps for a schedule without one."""
    boundaries = [b for b in schedule._boundaries(10**6) if b > 0]
    return max(100, int(1.25 * max(boundaries))) if boundaries else 100


def plot_png(spec: str, steps: int) -> bytes:
    """The schedule of ``spec`` over steps 0 to ``steps``, as a PNG."""
    import jax
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schedule = schedules.from_spec(spec)
    step = jnp.arange(steps + 1, dtype=jnp.int32)
    values = jax.device_get(jax.jit(jax.vmap(schedule))(step))
    figure, axes = plt.subplots(figsize=(6.4, 2.6), dpi=100)
    axes.plot(step, values, color="#3f51b5", linewidth=1.8)
    axes.set_xlabel("step")
    axes.set_xlim(0, steps)
    axes.grid(alpha=0.3)
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    figure.tight_layout()
    buffer = io.BytesIO()
    # No timestamp or software stamp: the same code draws the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def gallery_markdown(image_folder: str) -> str:
    """The gallery's sections, each image under ``image_folder``."""
    lines = []
    for name, spec, steps in gallery_specs():
        lines += [
            f"## {name}",
            "",
            f"[`fromax.schedules.{name}`][fromax.schedules.{name}], steps 0 to {steps:,}:",
            "",
            "```python",
            spec,
            "```",
            "",
            f"![{name}: {_alt(spec)}]({image_folder}/{name}.png)",
            "",
        ]
    for name, why in WITHOUT_SPEC.items():
        if name in schedule_classes():
            lines += [
                f"## {name}",
                "",
                f"[`fromax.schedules.{name}`][fromax.schedules.{name}] has no plot: {why}.",
                "",
            ]
    return "\n".join(lines)


def _alt(spec: str) -> str:
    return re.sub(r"[\[\]]", "", spec)
