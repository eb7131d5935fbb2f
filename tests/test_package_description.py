"""What a package index shows: installing first, then a ten-line example that runs."""

from __future__ import annotations

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_description_starts_with_installing_then_a_ten_line_example():
    text = (ROOT / PROJECT["readme"]).read_text()
    headings = re.findall(r"^## (.*)$", text, flags=re.M)
    assert headings[:2] == ["Install", "Ten lines"]
    install = text.split("## Install")[1].split("## ")[0]
    assert "pip install fromax" in install
    example = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    lines = [line for line in example.splitlines() if line.strip()]
    assert len(lines) <= 10
    assert all(len(line) <= 100 for line in lines)


def test_the_ten_line_example_trains(capsys):
    import jax.numpy as jnp

    example = re.findall(r"```python\n(.*?)```", (ROOT / PROJECT["readme"]).read_text(), re.S)[0]
    namespace: dict = {}
    exec(compile(example, "the package description's example", "exec"), namespace)
    # 100 Adam steps of at most 0.1 each (about 5.5 in all) bring w from [1, -2, 3] near 0.
    assert float(jnp.max(jnp.abs(namespace["params"]["w"]))) < 0.1
    assert "learning_rate" in capsys.readouterr().out


def test_licence_metadata_and_file():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    # PEP 639: beside a licence expression, indexes refuse licence classifiers.
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])
    assert "Programming Language :: Python :: 3.11" in PROJECT["classifiers"]
