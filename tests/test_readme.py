"""The README's code runs as written, and says what it does."""

from __future__ import annotations

import pathlib
import re

import jax
import numpy as np
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


def test_readme_is_a_landing_page():
    """At most 150 lines; every relative link reaches a file; the GPT results have their place."""
    text = README.read_text()
    assert len(text.splitlines()) <= 150, "the README is a landing page: move details into docs/"
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    relative = [link for link in links if "://" not in link]
    assert "docs/getting-started.md" in relative and "docs/cli.md" in relative
    for link in relative:
        assert (README.parent / link).exists(), f"README links to {link}, which does not exist"
    assert text.count("<!-- gpt-results:start -->") == 1
    assert text.count("<!-- gpt-results:end -->") == 1


def test_readme_code_runs(capsys):
    namespace: dict = {}
    blocks = _blocks()
    assert len(blocks) == 3, "the quick start, hyperparameters as data, a recipe"
    exec(compile(blocks[0], "README block 0", "exec"), namespace)
    import fromax

    state = namespace["state"]
    lr = namespace["learning_rate"]
    assert int(state.count) == 200
    used = float(fromax.hyperparams(state)["learning_rate"])
    assert used == pytest.approx(float(lr(199)), rel=1e-6)
    printed = capsys.readouterr().out
    assert f"{used:.5f}"[:6] in printed
    exec(compile(blocks[1], "README block 1", "exec"), namespace)
    state = namespace["state"]
    assert float(state.schedules["learning_rate"].peak_value) == pytest.approx(2e-2)
    assert int(state.count) == 201
    # The new peak reached the compiled step without a second compilation.
    assert namespace["step"]._cache_size() == 1
    assert float(fromax.hyperparams(state)["learning_rate"]) == pytest.approx(
        float(namespace["new_schedule"](200)), rel=1e-6
    )
    # The recipe: groups from one schedule, bfloat16 moments, the EMA readable in one call.
    exec(compile(blocks[2], "README block 2", "exec"), namespace)
    recipe_state = namespace["recipe_state"]
    values = fromax.hyperparams(recipe_state)
    assert values["learning_rate"] == 0.0  # the shared warm-up at step 0
    assert float(values["adamw/learning_rate_multiplier"]) == pytest.approx(0.1)
    moments = [a for a in jax.tree.leaves(recipe_state) if getattr(a, "shape", ()) == (8, 8)]
    assert any(a.dtype == jax.numpy.bfloat16 for a in moments)  # Muon's momentum of w
    averaged = namespace["averaged"]  # before any update: the initial weights
    np.testing.assert_array_equal(averaged["w"], np.eye(8))
