"""The command-line reference: ``fromax --help`` and each subcommand's, from the parser.

The parser is the one ``fromax`` runs (``fromax.lab._cli``), so a new
subcommand or option appears here with no change to this file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os

# argparse wraps help to the terminal's width: fix it, so the page is the same everywhere.
_WIDTH = "80"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_markdown() -> str:
    """Sections: the command's help, then each subcommand's, as the terminal shows them."""
    from fromax.lab._cli import _parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = _WIDTH
    try:
        parser = _parser()
        sections = [("fromax", parser.format_help())]
        sections += [
            (f"fromax {name}", sub.format_help()) for name, sub in _subcommands(parser).items()
        ]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    lines = []
    for title, text in sections:
        lines += [f"## `{title}`", "", "```text", f"$ {title} --help", text.rstrip(), "```", ""]
    return "\n".join(lines)


def optimizers_listing() -> str:
    """What ``fromax optimizers`` prints: every optimiser it trains, with its hyperparameters."""
    from fromax.lab._cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["optimizers"])
    if code != 0:
        raise RuntimeError(f"fromax optimizers exited with {code}")
    return "\n".join(["```text", "$ fromax optimizers", out.getvalue().rstrip(), "```", ""])


def subcommand_names() -> list[str]:
    """The subcommands of ``fromax``, in the parser's order."""
    from fromax.lab._cli import _parser

    return list(_subcommands(_parser()))
