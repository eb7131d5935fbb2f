"""Schedules from one-line specs, the language of their ``repr``.

A spec is a number (a constant) or a call of a schedule by name, with
positional arguments in signature order and keyword arguments, whose values
are numbers, strings, True/False/None, lists of these, or nested schedule
calls. It is read with ``ast`` and built node by node from that whitelist:
nothing in it is ever evaluated as Python.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import math
from typing import Any

import numpy as np

from fromax.schedules._base import Schedule
from fromax.schedules._basic import constant
from fromax.schedules._config import schedule_classes

__all__ = ["SpecError", "from_spec"]

_MAX_LENGTH = 10_000
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# What a reader sees when a node outside the grammar turns up.
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.BinOp: "arithmetic",
    ast.UnaryOp: "an operator other than a sign on a number",
    ast.BoolOp: "a boolean operator",
    ast.Compare: "a comparison",
    ast.IfExp: "a conditional expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple (use a list)",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.Starred: "unpacking",
    ast.NamedExpr: "an assignment",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class SpecError(ValueError):
    """A schedule spec that cannot be read: says what is wrong and where (column).

    A ``ValueError``, so a caller that catches those catches it too.

    Example:
        >>> from fromax import schedules
        >>> try:
        ...     schedules.from_spec("cosin(1)")
        ... except schedules.SpecError as error:
        ...     print(error)
        unknown schedule 'cosin' at column 1 ...
    """


SpecError.__module__ = "fromax.schedules"


def from_spec(text: str) -> Schedule:
    """The schedule that a spec such as ``"cosine_decay(1e-3, decay_steps=1000)"`` describes.

    The spec language is that of a schedule's ``repr``, so
    ``from_spec(repr(s)) == s``; a bare number is a :class:`constant`. Each
    argument is given once, by position or by keyword; a spec is at most
    10,000 characters.

    Args:
        text: the spec.

    Returns:
        The schedule, validated as when it is built in code.

    Raises:
        SpecError: a ``ValueError`` with one line saying what is wrong and at
            which column.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.from_spec(
        ...     "warmup_cosine_decay(init_value=0, peak_value=1e-3, warmup_steps=500, "
        ...     "decay_steps=10000)")
        >>> round(float(s(500)), 6)
        0.001
        >>> schedules.from_spec("1e-3")
        constant(value=0.001)
        >>> schedules.from_spec(repr(s)) == s
        True
        >>> schedules.from_spec("cosin(1.0, 10)")
        Traceback (most recent call last):
        ...
        fromax.schedules.SpecError: unknown schedule 'cosin' at column 1 (did you mean
        'cosine_decay'?); known: ...
    """
    if not isinstance(text, str):
        raise TypeError(f"a spec must be a string, got {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise SpecError(f"spec too long ({len(text)} characters; at most {_MAX_LENGTH})")
    source = text.strip()
    if not source:
        raise SpecError("empty spec: write a number or a schedule such as 'constant(0.1)'")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise SpecError(f"invalid spec syntax at column {error.offset or 1}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpecError("spec nested too deeply or malformed") from None
    try:
        value = _build(tree.body)
    except RecursionError:
        raise SpecError("spec nested too deeply") from None
    if isinstance(value, Schedule):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return constant(value)
    raise SpecError(
        f"a spec must be a number or a schedule call, got {type(value).__name__} at column 1"
    )


def _where(node: ast.AST) -> str:
    line, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
    return f"column {column}" if line == 1 else f"line {line} column {column}"


def _build(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return _constant(node.value, node)
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and _is_number(node.operand.value)
    ):
        value = _constant(node.operand.value, node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List):
        return [_build(element) for element in node.elts]
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.Name):
        raise SpecError(
            f"unknown name {node.id!r} at {_where(node)}: a spec holds schedule calls, "
            "numbers, strings, lists and True/False/None"
        )
    what = _FORBIDDEN.get(type(node), type(node).__name__)
    raise SpecError(f"{what} is not allowed in a spec (at {_where(node)})")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _constant(value: Any, node: ast.AST) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    # Every number becomes float32 or int32: one beyond float32 would become inf.
    if isinstance(value, int):
        if abs(value) > _FLOAT32_MAX:
            raise SpecError(f"number too large at {_where(node)}: float32 holds {_FLOAT32_MAX:.4g}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"number must be finite at {_where(node)}, got {value}")
        if abs(value) > _FLOAT32_MAX:
            raise SpecError(
                f"number too large at {_where(node)}, got {value:g}: float32 holds "
                f"{_FLOAT32_MAX:.4g}"
            )
        return value
    raise SpecError(f"{type(value).__name__} literal is not allowed in a spec (at {_where(node)})")


def _call(node: ast.Call) -> Schedule:
    if not isinstance(node.func, ast.Name):
        raise SpecError(f"only schedules can be called, by name (at {_where(node)})")
    name = node.func.id
    known = schedule_classes()
    if name == "function":
        raise SpecError(f"function(...) at {_where(node)} wraps a Python callable and has no spec")
    if name not in known:
        close = sorted(k for k in known if name and name in k)
        close = close or difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(
            f"unknown schedule {name!r} at {_where(node)}{hint}; known: {', '.join(sorted(known))}"
        )
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise SpecError(f"unpacking is not allowed in a spec (at {_where(argument)})")
    seen: set[str] = set()
    for keyword in node.keywords:
        if keyword.arg is None:
            raise SpecError(f"unpacking is not allowed in a spec (at {_where(keyword.value)})")
        # Python's parser keeps a repeated keyword; a dict would silently keep the last.
        if keyword.arg in seen:
            raise SpecError(
                f"{name} at {_where(node)}: {keyword.arg} is given twice (again at "
                f"{_where(keyword)}); give each argument once"
            )
        seen.add(keyword.arg)
    args = [_build(a) for a in node.args]
    kwargs = {k.arg: _build(k.value) for k in node.keywords if k.arg is not None}
    cls = known[name]
    try:
        inspect.signature(cls).bind(*args, **kwargs)
    except TypeError as error:
        raise SpecError(f"{name} at {_where(node)}: {error}") from None
    try:
        return cls(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise SpecError(f"{name} at {_where(node)}: {error}") from None
