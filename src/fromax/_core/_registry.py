"""The registry: every transformation declares its hyperparameters once.

A constructor is decorated with :func:`declare`, which lists each of its
arguments as a :class:`Hyperparameter` (name, kind, one-line description;
the default comes from the signature). From that one declaration come:

- the constructor's argument checks, run before its body (a wrong type or a
  None where None does not mean "off" is refused, naming the argument);
- the bounds that ``scheduled_transformation`` checks constants against
  (:func:`schedulable`);
- the command line's ``fromax optimizers`` and its ``--hyper`` parsing;
- the test suite's and the benchmark suite's lists of optimisers, and the
  README's table.

Kinds: :class:`Number` (schedulable, with bounds), :class:`Real` (a static
number, used once), :class:`Integer`, :class:`Flag`, :class:`Choice`,
:class:`DType` (a moment's storage dtype) and :class:`Tree` (static). A
kind is a small class with ``check``, ``parse`` and ``describe``; an
optimiser may define its own.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from fromax._core._bounds import Bounds
from fromax._core._storage import StochasticRounding, check_state_dtype
from fromax.schedules import from_spec

__all__ = [
    "Choice",
    "DType",
    "Flag",
    "Hyperparameter",
    "Integer",
    "Kind",
    "Number",
    "OptimizerSpec",
    "Real",
    "Tree",
    "WholeNumber",
    "declare",
    "declared",
    "parse_hyperparameters",
    "schedulable",
    "spec",
]

INT32_MAX = 2**31 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NO_DEFAULT = inspect.Parameter.empty


class Kind:
    """What values a hyperparameter takes. Subclasses say how to check and parse them."""

    schedulable: bool = False

    def check(self, value: Any, where: str) -> None:
        """Raises TypeError or ValueError naming ``where`` unless ``value`` is admitted."""
        raise NotImplementedError

    def parse(self, text: str, where: str) -> Any:
        """The value a command-line ``--hyper name=text`` stands for."""
        raise ValueError(f"{where} cannot be set from the command line; use the Python API")

    def describe(self) -> str:
        """What the kind admits, for messages and listings."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Number(Kind):
    """A schedulable number: a constant, a JAX scalar, a schedule or a callable ``step -> scalar``.

    Constants are checked against ``bounds`` by ``scheduled_transformation``
    (when the optimiser is built, and when :func:`~fromax.set_hyperparams`
    changes one); here only the type is checked.
    """

    bounds: Bounds
    schedulable = True

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool | np.bool_ | str | bytes):
            raise TypeError(
                f"{where} must be a number, a JAX scalar or a schedule (a constant: "
                f"{self.bounds.describe()}), got {value!r} of type {type(value).__name__}"
            )

    def parse(self, text: str, where: str) -> Any:
        try:
            return from_spec(text)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{where}: {error}") from None

    def describe(self) -> str:
        return f"{self.bounds.describe()}, or a schedule"


def _short(value: Any) -> str:
    """A number for a message: an integer of 400 digits is not printed whole."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} digits)"


@dataclasses.dataclass(frozen=True, init=False)
class WholeNumber(Number):
    """A schedulable count: a Python integer >= ``minimum``, a JAX scalar or a schedule.

    Held as data like a :class:`Number` (float32 in the state, changed with
    ``set_hyperparams`` without a retrace); the transformation rounds the
    value to the nearest integer, at least ``minimum``, each step. A Python
    float is refused, as by :class:`Integer`.
    """

    minimum: int = 0

    def __init__(self, minimum: int = 0) -> None:
        object.__setattr__(self, "minimum", minimum)
        object.__setattr__(self, "bounds", Bounds(minimum=float(minimum)))

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_ | str | bytes):
            Integer(minimum=self.minimum).check(value, where)

    def parse(self, text: str, where: str) -> Any:
        try:
            return int(text.strip())
        except ValueError:
            return super().parse(text, where)

    def describe(self) -> str:
        return f"{Integer(minimum=self.minimum).describe()}, or a schedule (rounded)"


@dataclasses.dataclass(frozen=True)
class Real(Kind):
    """A static number within ``bounds``, used once when the transformation is built.

    An initial value of a state (RMSprop's ``initial_scale``) is one: it is
    not a hyperparameter of any step, so it cannot be scheduled.
    """

    bounds: Bounds

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{where} must be a Python number (it is used once, at init): "
                f"{self.bounds.describe()}, got {value!r} of type {type(value).__name__}"
            )
        magnitude: Any = abs(value)  # an int may be past float64's range: no float()
        if magnitude > _FLOAT32_MAX:
            # It initialises a float32 state: past this it would start as inf.
            raise ValueError(
                f"{where} must be finite in float32 (at most {_FLOAT32_MAX:.4g} in "
                f"magnitude), got {_short(value)}"
            )
        if not self.bounds.admits(float(value)):
            raise ValueError(f"{where} must be {self.bounds.describe()}, got {value!r}")

    def parse(self, text: str, where: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError(f"{where}: expected a number, got {text!r}") from None

    def describe(self) -> str:
        return f"{self.bounds.describe()}, not schedulable"


@dataclasses.dataclass(frozen=True)
class Integer(Kind):
    """A static integer (a step count, an axis), within ``[minimum, maximum]``.

    ``Integer(minimum=-INT32_MAX)`` is any integer (an axis, which may be
    negative).
    """

    minimum: int = 0
    maximum: int = INT32_MAX

    def check(self, value: Any, where: str) -> None:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
            raise TypeError(
                f"{where} must be {self.describe()}, got {value!r} of type {type(value).__name__}"
            )
        if not self.minimum <= int(value) <= self.maximum:
            raise ValueError(f"{where} must be {self.describe()}, got {int(value)}")

    def parse(self, text: str, where: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{where}: expected an integer, got {text!r}") from None

    def describe(self) -> str:
        if self.maximum >= INT32_MAX and self.minimum <= -INT32_MAX:
            return "an integer"
        if self.maximum >= INT32_MAX:
            return f"an integer >= {self.minimum}"
        return f"an integer from {self.minimum} to {self.maximum}"


@dataclasses.dataclass(frozen=True)
class Flag(Kind):
    """A static boolean: only True or False (a string such as ``"false"`` is refused)."""

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{where} must be True or False, got {value!r}")

    def parse(self, text: str, where: str) -> bool:
        if text.strip().lower() not in ("true", "false"):
            raise ValueError(f"{where}: expected true or false, got {text!r}")
        return text.strip().lower() == "true"

    def describe(self) -> str:
        return "True or False"


@dataclasses.dataclass(frozen=True)
class Choice(Kind):
    """A static choice among named values."""

    values: tuple[str, ...]

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"{where} must be one of {self.describe()}, got {value!r}")

    def parse(self, text: str, where: str) -> str:
        value = text.strip()
        if value not in self.values:
            raise ValueError(f"{where} must be one of {self.describe()}, got {text!r}")
        return value

    def describe(self) -> str:
        return ", ".join(repr(v) for v in self.values)


@dataclasses.dataclass(frozen=True)
class DType(Kind):
    """A moment's storage dtype (static): a float dtype, its name, or ``StochasticRounding``.

    Declared ``optional``: None is the compute dtype (float32, or the
    parameters' dtype if wider). On the command line: a dtype's name
    (``bfloat16``), or ``stochastic_bfloat16`` for stochastic rounding.
    """

    def check(self, value: Any, where: str) -> None:
        check_state_dtype(value, where)

    def parse(self, text: str, where: str) -> Any:
        value = text.strip()
        if value == "stochastic_bfloat16":
            return StochasticRounding()
        try:
            check_state_dtype(value, where)
        except TypeError as error:
            raise ValueError(f"{error} (or stochastic_bfloat16)") from None
        return value

    def describe(self) -> str:
        return "a float dtype or its name, or StochasticRounding()"


@dataclasses.dataclass(frozen=True)
class Tree(Kind):
    """A static pytree (a mask, a transformation, labels), checked by ``validate``."""

    description: str
    validate: Callable[[Any, str], None] | None = None

    def check(self, value: Any, where: str) -> None:
        if self.validate is not None:
            self.validate(value, where)

    def describe(self) -> str:
        return self.description


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One argument of a constructor, declared once.

    Attributes:
        name: the argument's name.
        kind: what it takes (:class:`Number`, :class:`Integer`, ...).
        doc: one line: what it is.
        optional: whether None is accepted (and means "off").
        none_means: what None stands for, where ``optional`` ("off"; a
            mask's None is "every leaf").
        default: filled in by :func:`declare` from the signature
            (``inspect.Parameter.empty`` where there is none).
    """

    name: str
    kind: Kind
    doc: str
    optional: bool = False
    none_means: str = "off"
    default: Any = _NO_DEFAULT

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def check(self, value: Any, owner: str) -> None:
        where = f"{owner}'s {self.name}"
        if value is None:
            if self.optional:
                return
            raise TypeError(f"{where} must be {self.kind.describe()}, got None")
        self.kind.check(value, where)

    def parse(self, text: str) -> Any:
        """The value of ``--hyper name=text`` (``none`` for an optional one)."""
        where = f"--hyper {self.name}"
        if text.strip().lower() == "none":
            if self.optional:
                return None
            raise ValueError(f"{where} cannot be none; it takes {self.kind.describe()}")
        return self.kind.parse(text, where)

    def describe(self) -> str:
        """``b1=0.9: the first moment's decay (a finite number >= 0 and < 1, or a schedule)``."""
        default = "required" if self.required else repr(self.default)
        admits = self.kind.describe() + (f"; None: {self.none_means}" if self.optional else "")
        return f"{self.name}={default}: {self.doc} ({admits})"


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """A declared constructor: its hyperparameters and what it is.

    Attributes:
        name: the public name (``fromax.<name>``).
        constructor: the checked constructor.
        hyperparameters: every argument, in signature order.
        summary: one line for listings.
        role: ``"optimizer"`` (a complete optimiser: listed by ``fromax
            optimizers``, tested against a float64 reference and benchmarked)
            or ``"transform"`` (a building block or wrapper).
    """

    name: str
    constructor: Callable[..., Any]
    hyperparameters: tuple[Hyperparameter, ...]
    summary: str
    role: str

    def __getitem__(self, name: str) -> Hyperparameter:
        for hyperparameter in self.hyperparameters:
            if hyperparameter.name == name:
                return hyperparameter
        known = ", ".join(h.name for h in self.hyperparameters) or "none"
        raise KeyError(f"{self.name} has no hyperparameter {name!r}; it has: {known}")

    def __contains__(self, name: object) -> bool:
        return any(h.name == name for h in self.hyperparameters)

    @property
    def schedulable(self) -> tuple[Hyperparameter, ...]:
        return tuple(h for h in self.hyperparameters if h.kind.schedulable)


_REGISTRY: dict[str, OptimizerSpec] = {}
_ROLES = ("optimizer", "transform")

F = TypeVar("F", bound=Callable[..., Any])


def declare(
    *hyperparameters: Hyperparameter, summary: str, role: str = "optimizer"
) -> Callable[[F], F]:
    """Declares a constructor's hyperparameters and checks its arguments with them.

    Every argument of the constructor must be declared, in signature order;
    defaults are read from the signature. The decorated constructor checks
    each argument (:meth:`Hyperparameter.check`) before its body runs.

    Example:
        >>> import jax, fromax
        >>> from fromax._core._bounds import NONNEGATIVE
        >>> from fromax._core._registry import Hyperparameter, Number, Flag, declare
        >>> @declare(
        ...     Hyperparameter("step_size", Number(NONNEGATIVE), "how far to go"),
        ...     Hyperparameter("flip", Flag(), "whether to negate"),
        ...     summary="a toy", role="transform")
        ... def toy(step_size, flip=True):
        ...     return step_size
        >>> toy(0.5)
        0.5
        >>> toy(0.5, flip="false")
        Traceback (most recent call last):
        ...
        TypeError: toy's flip must be True or False, got 'false'
    """
    if role not in _ROLES:
        raise ValueError(f"role must be one of {_ROLES}, got {role!r}")

    def wrap(constructor: F) -> F:
        name = constructor.__name__
        signature = inspect.signature(constructor)
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        parameters = [p for p in signature.parameters.values() if p.kind not in variadic]
        declared_names = [h.name for h in hyperparameters]
        if declared_names != [p.name for p in parameters]:
            raise TypeError(
                f"{name} declares {declared_names} but its signature has "
                f"{[p.name for p in parameters]}: declare every argument, in order"
            )
        complete = tuple(
            dataclasses.replace(h, default=p.default)
            for h, p in zip(hyperparameters, parameters, strict=True)
        )

        @functools.wraps(constructor)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{name}: {error}") from None
            bound.apply_defaults()
            for hyperparameter in complete:
                hyperparameter.check(bound.arguments[hyperparameter.name], name)
            return constructor(*bound.args, **bound.kwargs)

        _REGISTRY[name] = OptimizerSpec(name, checked, complete, summary, role)
        return checked  # type: ignore[return-value]

    return wrap


def spec(name: str) -> OptimizerSpec:
    """The declaration of ``name``, or a ValueError listing the declared optimisers."""
    if name not in _REGISTRY:
        known = ", ".join(s.name for s in declared())
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {known}")
    return _REGISTRY[name]


def declared(role: str | None = "optimizer") -> tuple[OptimizerSpec, ...]:
    """Every declaration of ``role`` (None: all), in the order they were declared."""
    return tuple(s for s in _REGISTRY.values() if role is None or s.role == role)


def schedulable(owner: str, **values: Any) -> dict[str, tuple[Any, Bounds]]:
    """``{name: (value, bounds)}`` for ``scheduled_transformation``, bounds from the declaration.

    Example:
        >>> from fromax._core._bounds import POSITIVE
        >>> from fromax._core._registry import Hyperparameter, Number, declare, schedulable
        >>> @declare(
        ...     Hyperparameter("rate", Number(POSITIVE), "a rate"), summary="", role="transform")
        ... def rated(rate):
        ...     return schedulable("rated", rate=rate)
        >>> rated(0.1)["rate"][1].describe()
        'a finite number > 0'
    """
    declaration = _REGISTRY[owner]
    out: dict[str, tuple[Any, Bounds]] = {}
    for name, value in values.items():
        kind = declaration[name].kind
        if not isinstance(kind, Number):
            raise TypeError(f"{owner}'s {name} is not a schedulable number")
        out[name] = (value, kind.bounds)
    return out


def parse_hyperparameters(owner: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """Command-line ``--hyper name=text`` texts, parsed by each hyperparameter's kind.

    Integers are read as integers, flags only as ``true`` or ``false``,
    choices by name, numbers as a number or a schedule spec, and ``none``
    only for an optional hyperparameter. Every error is a one-line
    ValueError naming the hyperparameter and what it admits; an unknown name
    lists the known ones.

    Example:
        >>> import fromax
        >>> from fromax._core._registry import parse_hyperparameters
        >>> parse_hyperparameters("nero", {"neuron_axis": "-1", "constraints": "false"})
        {'neuron_axis': -1, 'constraints': False}
        >>> parse_hyperparameters("nero", {"axis": "-1"})
        Traceback (most recent call last):
        ...
        ValueError: nero has no hyperparameter 'axis'; it has: learning_rate, beta, ...
    """
    declaration = spec(owner)
    names = [h.name for h in declaration.hyperparameters]
    for name in texts:
        if name not in names:
            raise ValueError(
                f"{owner} has no hyperparameter {name!r}; it has: {', '.join(names) or 'none'}"
            )
    return {name: declaration[name].parse(text) for name, text in texts.items()}
