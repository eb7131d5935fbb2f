"""Registry entries for the optimisers with maths of their own (Nero, Madam, Lion, ...).

See ``optimizer_registry.Entry`` for what an entry holds.
"""

from __future__ import annotations

from optimizer_registry import Entry

ENTRIES: list[Entry] = []
