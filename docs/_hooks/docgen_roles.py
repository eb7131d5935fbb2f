"""Sphinx-style roles in docstrings (``:func:`adam```), as Markdown.

Each role that names a public object becomes an autorefs link to its API
entry; any other stays as code. Only public names become links: every one has
an entry (the build checks), so a link never dangles.
"""

from __future__ import annotations

import re

import fromax
from fromax import schedules

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|obj):`~?([\w.]+)`")


def public_identifier(name: str, context: str) -> str | None:
    """The identifier of the public object a role names, or None.

    ``context`` is the path of the object whose docstring holds the role:
    inside ``fromax.schedules`` a bare ``clip`` is the schedule, elsewhere the
    transformation.
    """
    if name.startswith("fromax."):
        head, _, tail = name.rpartition(".")
        if head == "fromax" and tail in fromax.__all__:
            return name
        if head == "fromax.schedules" and tail in schedules.__all__:
            return name
        return None
    spaces = [("fromax", fromax.__all__), ("fromax.schedules", schedules.__all__)]
    if context.startswith("fromax.schedules"):
        spaces.reverse()
    for prefix, names in spaces:
        if name in names:
            return f"{prefix}.{name}"
    return None


def rewrite(text: str, context: str) -> str:
    """``text`` with its roles replaced by links (public names) or code."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        identifier = public_identifier(name, context)
        shown = name.rpartition(".")[2] if match.group(0).count("~") else name
        if identifier is None:
            return f"`{shown}`"
        return f"[`{shown}`][{identifier}]"

    return _ROLE.sub(replace, text)
