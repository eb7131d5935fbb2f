"""Registry entries for the optimisers built from fromax's building blocks.

See ``optimizer_registry.Entry`` for what an entry holds.
"""

from __future__ import annotations

from optimizer_registry import Entry

ENTRIES: list[Entry] = []
