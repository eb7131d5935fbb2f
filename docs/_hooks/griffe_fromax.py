"""A griffe extension: fromax's docstrings, as mkdocstrings' Google parser reads them.

Three habits of fromax's docstrings (read by doctest and by people) that the
parser takes otherwise:

- ``Example:`` (singular) heads the runnable example; griffe knows only
  ``Examples:`` as the section whose ``>>>`` lines are code.
- Sphinx roles (``:func:`adam```) mean nothing in Markdown; see
  ``docgen_roles`` for what each becomes.
- A paragraph ending in ``::`` introduces an indented block, which Markdown
  already shows as code: the second colon is dropped.
"""

from __future__ import annotations

import re
from typing import Any

import griffe
from docgen_roles import rewrite

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", flags=re.M)
_LITERAL = re.compile(r"::[ \t]*$", flags=re.M)


def markdown_docstring(text: str, path: str) -> str:
    """``text`` as the Google parser and Markdown should see it."""
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _LITERAL.sub(":", text)
    return rewrite(text, path)


class FromaxDocstrings(griffe.Extension):
    """Rewrites every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        del kwargs
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value, obj.path)
