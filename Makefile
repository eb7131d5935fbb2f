# Each target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever the package's metadata changes.
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: test pytest demo bench lint typecheck bytecode test-floor docs clean

# Python writes each module's bytecode at its first import, even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): without it every process,
# each test worker and each command a test starts, compiles jax's sources again.
unexport PYTHONDONTWRITEBYTECODE

# uv installs what pip would, in parallel: 8 s against pip's 51 s. uv reads no
# pip configuration (a private index, say): where it cannot install, pip does.
INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python -e '$(1)' \
	|| $(BIN)/python -m pip install --quiet -e '$(1)'

EXTRAS := .[test,plot]
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv || true
	$(call INSTALL,$(EXTRAS))
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

# Basic mode (pyproject.toml's [tool.mypy]): the library and the application, no errors.
typecheck: $(STAMP)
	$(BIN)/python -m mypy

# Collecting the tests imports every module they use, and so writes its bytecode:
# done once, beside lint and mypy, not by both test workers at once.
bytecode: $(STAMP)
	$(BIN)/python -m pytest --collect-only -q -p no:xdist > /dev/null

# worksteal: a worker that runs out of tests takes some of the other's (299 s against 323 s).
pytest: bytecode
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

# Lint and mypy run beside the tests, so neither core waits for the other: the tests
# start once the bytecode is written, while mypy finishes. Any of the three failing
# fails `make test`.
test: $(STAMP)
	$(MAKE) --no-print-directory -j 3 lint typecheck pytest

demo: $(STAMP)
	$(BIN)/fromax demo

bench: $(STAMP)
	$(BIN)/python benchmarks/suite.py

# The documentation site, into site/; --strict: any warning (a broken link, a
# docstring griffe cannot read, a public name without a page) fails the build.
$(DOCS_STAMP): $(STAMP)
	$(call INSTALL,.[docs])
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The oldest JAX that pyproject.toml admits, in a venv of its own.
JAX_FLOOR := 0.6.0
test-floor:
	$(PYTHON) -m venv .venv-floor
	.venv-floor/bin/python -m pip install --quiet -e '.[test,plot]' 'jax==$(JAX_FLOOR)' 'jaxlib==$(JAX_FLOOR)'
	.venv-floor/bin/python -m pytest -q

clean:
	rm -rf $(VENV) .venv-floor site
