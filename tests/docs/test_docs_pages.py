"""The documentation site's code runs as written, and its generators cover the public API.

The site itself is built by ``make docs`` (MkDocs, strict); these checks need
no MkDocs, so ``make test`` catches a broken page example or a public name
the generators cannot place before the docs build does.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_hooks"))

import docgen_api  # noqa: E402
import docgen_families  # noqa: E402
import docgen_gallery  # noqa: E402

import fromax  # noqa: E402
from fromax import schedules  # noqa: E402

PAGES = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
# Blocks that use a library fromax does not depend on run only where it is installed.
OPTIONAL = ("flax", "equinox")


def _python_blocks(page: pathlib.Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def _run_page(page: pathlib.Path) -> dict:
    """Runs the page's Python blocks in order, in one namespace, and returns it."""
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(_python_blocks(page)):
        needs = [m for m in OPTIONAL if re.search(rf"^(import|from) {m}\b", block, flags=re.M)]
        if any(importlib.util.find_spec(m) is None for m in needs):
            continue
        exec(compile(block, f"{page.relative_to(DOCS)} block {i}", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs(page, capsys):
    _run_page(page)
    capsys.readouterr()


def test_hyperparameters_page_does_what_it_says(capsys):
    import jax
    import numpy as np

    namespace = _run_page(DOCS / "concepts" / "hyperparameters.md")
    capsys.readouterr()
    # Changing the schedule's numbers did not recompile the step.
    assert namespace["step"]._cache_size() == 1
    assert float(namespace["state"].schedules["learning_rate"].init_value) == pytest.approx(2e-2)
    # The sweep: one run per peak, each a finite loss.
    losses = np.asarray(jax.vmap(namespace["final_loss"])(namespace["peaks"]))
    assert losses.shape == (3,) and np.isfinite(losses).all()


def test_muon_page_labels_as_printed(capsys):
    namespace = _run_page(DOCS / "optimizers" / "muon-scion.md")
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "{'b': 'adamw', 'embed': 'adamw', 'lm_head': 'adamw', 'w': 'muon'}",
        "{'b': 'rms', 'embed': 'colnorm', 'lm_head': 'sign', 'w': 'spectral'}",
    ]
    assert namespace["muon_state"].inner is not None


def test_every_public_name_has_one_api_entry():
    pages = docgen_api.api_pages()
    docgen_api.check_coverage(pages)
    placed = {e.identifier for p in pages for e in p.entries} | {p.module for p in pages}
    wanted = {f"fromax.{n}" for n in fromax.__all__}
    wanted |= {f"fromax.schedules.{n}" for n in schedules.__all__}
    assert wanted <= placed


def test_gallery_draws_every_schedule_class():
    drawn = {name for name, _, _ in docgen_gallery.gallery_specs()}
    classes = set(docgen_gallery.schedule_classes())
    assert drawn == classes - set(docgen_gallery.WITHOUT_SPEC)
    assert "warmup_cosine_decay" in drawn and "function" not in drawn


def test_family_pages_name_their_optimizers():
    families = docgen_families.family_pages()
    assert "optimizers/fromage.md" in families
    for path, names in families.items():
        assert docgen_families.check_family_page(path, names, (DOCS / path).read_text()) == []
    claimed = [n for names in families.values() for n in names]
    assert len(claimed) == len(set(claimed)), "an optimiser is on two family pages"


def test_family_check_catches_a_missing_name():
    problems = docgen_families.check_family_page("x.md", ["adam", "no_such"], "fromax.sgd")
    assert problems == [
        "x.md: the text never names fromax.adam",
        "x.md: 'no_such' is not in fromax.__all__",
    ]


def test_an_optimizer_without_a_family_page_gets_the_generated_page(monkeypatch):
    families = docgen_families.family_pages()
    without_lion = {path: [n for n in names if n != "lion"] for path, names in families.items()}
    monkeypatch.setattr(docgen_families, "family_pages", lambda: without_lion)
    assert docgen_families.unclaimed() == ["lion"]
    page = docgen_families.unclaimed_markdown(["lion"])
    # The signature, one argument per line once it is long (the storage dtype is keyword-only).
    signature = (
        "fromax.lion(\n    learning_rate,\n    b1=0.9,\n    b2=0.99,\n    weight_decay=0.001,"
    )
    assert signature + "\n    *,\n    mu_dtype=None,\n)" in page
    assert "[Reference][fromax.lion]" in page
