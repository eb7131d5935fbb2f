"""Settings for every test the suite collects, the doctests under src/ included.

(tests/conftest.py holds the suite's JAX settings; a conftest's fixtures reach
only the tests below its folder, so this one sits at the root, above src/.)
"""

import pytest

from fromax._core import _registry


@pytest.fixture(autouse=True)
def _registry_as_it_was():
    # Doctests and tests that @declare a toy optimiser would otherwise leave it
    # in the process's registry, where a later test in the same worker (the
    # registry's own completeness checks) would find it.
    saved = dict(_registry._REGISTRY)
    yield
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(saved)
