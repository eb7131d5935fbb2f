"""The README's code runs as written, and says what it does."""

from __future__ import annotations

import pathlib
import re

import jax
import pytest

README = pathlib.Path(__file__).parent.parent / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_optimizer_table_is_the_generated_one():
    from fromax.lab._optimizers import markdown_table

    text = README.read_text()
    start, end = "<!-- optimizers:start -->\n", "<!-- optimizers:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, "the README lost its table markers"
    table = text.split(start)[1].split(end)[0]
    assert table == markdown_table(), (
        "README.md's optimiser table differs from the declarations: replace the lines between "
        f"{start.strip()} and {end} with the output of `fromax optimizers --markdown`"
    )


def test_readme_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert lines[2].split("#")[0].strip() == "make demo"
    assert lines[3].split("#")[0].strip() == "make test"


def _xla_knows(option: str, value: object) -> bool:
    """Whether this jaxlib's compiler takes ``option`` (older ones refuse unknown names)."""
    try:
        jax.jit(lambda x: x + 1, compiler_options={option: value}).lower(1.0).compile()
    except Exception:  # jaxlib's error type differs between versions
        return False
    return True


def test_readme_code_runs(capsys):
    namespace: dict = {}
    blocks = _blocks()
    assert len(blocks) >= 4
    exec(compile(blocks[0], "README block 0", "exec"), namespace)
    import fromax

    state = namespace["state"]
    lr = namespace["learning_rate"]
    assert int(state.count) == 200
    used = float(fromax.hyperparams(state)["learning_rate"])
    assert used == pytest.approx(float(lr(199)), rel=1e-6)
    printed = capsys.readouterr().out
    assert f"{used:.5f}"[:6] in printed
    scheduler = ("xla_cpu_scheduler_type", "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED")
    for i, block in enumerate(blocks[1:], start=1):
        if scheduler[0] in block and not _xla_knows(*scheduler):
            continue  # the Speed section's XLA:CPU option, which the jax floor lacks
        exec(compile(block, f"README block {i}", "exec"), namespace)
    state = namespace["state"]
    assert float(state.schedules["learning_rate"].peak_value) == pytest.approx(2e-2)
    losses = jax.device_get(namespace["jax"].vmap(namespace["final_loss"])(namespace["peaks"]))
    assert losses.shape == (4,)
