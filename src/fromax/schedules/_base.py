"""The schedule protocol: a pytree whose numeric parameters are leaves.

A schedule is called with a step (a Python int or a traced integer array) and
returns a float32 scalar. Its numeric parameters are pytree leaves held as
arrays, so a jitted training step that receives a schedule as an argument is
not retraced when a parameter changes, and can be vmapped over. Its
non-numeric parameters (a flag, a user's function) are static: changing one
changes the tree structure, and so retraces.

Schedules are classes named like functions (``warmup_cosine_decay(...)``)
because they are used like optax's schedule functions and because their
``repr`` is then the code that builds them.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._tree import compute_dtype

__all__ = [
    "Schedule",
    "as_choice",
    "as_float_scalar",
    "as_increasing_steps",
    "as_step_count",
    "function",
]

# The schedule classes defined in fromax.schedules, by name (filled as each is defined):
# what a config or a spec may name.
_DEFINED: dict[str, type[Schedule]] = {}


def _tracing(*trees: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(trees))


# The schedule is an argument, so its numbers are data: one compilation per tree
# structure (kind and static parameters), whatever the values and the step.
_compiled_value = jax.jit(lambda schedule, step: schedule(step))


def _concrete(value: Any) -> np.ndarray | None:
    """The value as a NumPy array, or None while it is being traced."""
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def as_float_scalar(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> jax.Array:
    """Validates a numeric argument and returns it as a float32 scalar array.

    Checks run on concrete values only: under ``jit`` or ``vmap`` the value is
    a tracer, and is taken as it is.
    """
    number = _real_scalar(value, name, "a number")
    # A Python number becomes float32 even under jax_enable_x64 (where JAX would make
    # it float64): a hyperparameter's dtype must not depend on that flag, or the
    # state's dtypes would change at the first update. An array keeps a wider dtype.
    if isinstance(value, int | float):
        dtype = np.dtype(np.float32)
    else:
        dtype = compute_dtype(jnp.result_type(value))
    if number is not None:
        if not math.isfinite(number):
            raise ValueError(f"{name} must be finite, got {number}")
        if abs(number) > float(np.finfo(dtype).max):
            raise ValueError(
                f"{name} must be finite in {dtype.name} (at most "
                f"{float(np.finfo(dtype).max):.4g} in magnitude), got {number:g}"
            )
        if positive and number <= 0:
            raise ValueError(f"{name} must be positive, got {number}")
        if minimum is not None and number < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ValueError(f"{name} must be <= {maximum}, got {number}")
    return jnp.asarray(value, dtype=dtype)


def as_step_count(
    value: Any, name: str, *, positive: bool = False, signed: bool = False
) -> jax.Array:
    """Validates a number of steps as an int32 scalar: >= 0 (> 0 with ``positive``),
    or of either sign with ``signed`` (a shift in time)."""
    number = _real_scalar(value, name, "a whole number of steps")
    if number is not None:
        if not math.isfinite(number) or number != int(number):
            raise ValueError(f"{name} must be a whole number of steps, got {number}")
        if not signed and (number < 0 or (positive and number == 0)):
            bound = "positive" if positive else ">= 0"
            raise ValueError(f"{name} must be {bound}, got {int(number)}")
        if abs(number) > np.iinfo(np.int32).max:
            raise ValueError(f"{name} must fit in int32, got {int(number)}")
    elif not jnp.issubdtype(jnp.result_type(value), jnp.integer):
        raise TypeError(f"{name} must be an integer array under tracing, got {value.dtype}")
    return jnp.asarray(value, dtype=jnp.int32)


def plain_numbers(values: Any) -> np.ndarray | None:
    """``values`` as a float64 NumPy vector when every one is a concrete real number.

    The fast path: validating and stacking 10,000 JAX scalars one at a time takes
    minutes (each stack compiles anew). None where any value is traced, not a number
    or a bool: those go the slow way, which also words the error.
    """
    if isinstance(values, np.ndarray | jax.Array):
        array = _concrete(values)
        if array is None or array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
            return None
        if np.issubdtype(array.dtype, np.complexfloating):
            return None
        return array.astype(np.float64)
    numbers = []
    for value in values:
        if isinstance(value, bool | np.bool_):
            return None
        if isinstance(value, np.ndarray | jax.Array):
            value = _concrete(value)
            if value is None or value.shape != () or value.dtype == np.bool_:
                return None
            value = value.item()
        if not isinstance(value, int | float | np.integer | np.floating):
            return None
        if isinstance(value, int) and abs(value) > 2**63:
            return None
        numbers.append(value)
    return np.asarray(numbers, dtype=np.float64)


def as_increasing_steps(values: Sequence[Any], name: str) -> jax.Array:
    """Validates strictly increasing step counts (``boundaries``) as an int32 vector."""
    fast = plain_numbers(values)
    if (
        fast is not None
        and np.all(fast == np.floor(fast))
        and np.all((fast >= 0) & (fast <= np.iinfo(np.int32).max))
        and np.all(np.diff(fast) > 0)
    ):
        return jnp.asarray(fast.astype(np.int32))
    steps = [as_step_count(b, f"{name}[{i}]") for i, b in enumerate(values)]
    concrete = [concrete_number(b) for b in steps]
    for i in range(1, len(concrete)):
        before, after = concrete[i - 1], concrete[i]
        if before is not None and after is not None and not after > before:
            raise ValueError(
                f"{name} must increase strictly, got {int(before)} then {int(after)} at {name}[{i}]"
            )
    return jnp.stack(steps) if steps else jnp.zeros((0,), jnp.int32)


def as_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Validates a string option against its choices."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def as_flag(value: Any, name: str) -> bool:
    """Validates a True/False option."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _real_scalar(value: Any, name: str, kind: str) -> float | None:
    """Checks that ``value`` is one real number (``kind`` says which, for the message);
    returns it as a Python float, or None while it is being traced."""
    if isinstance(value, bool) or not _is_numeric(value):
        raise TypeError(f"{name} must be {kind}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, int) and abs(value) >= 2**128:
        # float32 ends below 2**128; a Python int past float64's range would overflow
        # float() with a message naming nothing.
        raise ValueError(
            f"{name} must be finite in float32 (at most 3.403e+38 in magnitude), got an "
            f"integer of {len(str(abs(value)))} digits"
        )
    if np.shape(value) != ():
        raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}")
    return concrete_number(value)


def concrete_number(value: Any) -> float | None:
    """A scalar leaf as a Python float, or None while it is being traced."""
    concrete = _concrete(value)
    return None if concrete is None else float(concrete)


def _is_numeric(value: Any) -> bool:
    """A real number or array (complex numbers are not hyperparameters)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return True  # JAX's result_type overflows on ints past int64
    if isinstance(value, int | float | np.number | np.ndarray | jax.Array):
        dtype = jnp.result_type(value)
        return jnp.issubdtype(dtype, jnp.number) and not jnp.issubdtype(dtype, jnp.complexfloating)
    return False


def as_float_step(step: Any) -> jax.Array:
    """A step as float32 for a schedule's arithmetic (exact up to 2**24 steps).

    Past 2**24 a float32 step is rounded (to a multiple of 128 near 2**31): take
    positions within a phase with :func:`as_int_step` and :func:`steps_since`.
    """
    step = jnp.asarray(step)
    if not jnp.issubdtype(step.dtype, jnp.integer):
        raise TypeError(f"a schedule's step must be an integer, got dtype {step.dtype}")
    return step.astype(jnp.float32)


_INT32 = np.iinfo(np.int32)


def as_int_step(step: Any) -> jax.Array:
    """A step as int32, for exact arithmetic on positions within cycles and phases.

    A wider integer (int64 under ``jax_enable_x64``, uint32) is clipped to int32's
    range: the optimiser's count saturates at 2**31 - 1 too.
    """
    step = jnp.asarray(step)
    if not jnp.issubdtype(step.dtype, jnp.integer):
        raise TypeError(f"a schedule's step must be an integer, got dtype {step.dtype}")
    if step.dtype != jnp.int32:
        info = jnp.iinfo(step.dtype)
        if info.max > _INT32.max or info.min < _INT32.min:
            step = jnp.clip(step, max(info.min, _INT32.min), min(info.max, _INT32.max))
        step = step.astype(jnp.int32)
    return step


def steps_since(step: Any, start: jax.Array) -> jax.Array:
    """``step - start`` as float32, the difference taken exactly in int32 first.

    Rounding each to float32 first would misplace a phase that starts at 2**30 by
    up to 64 steps. Both are steps in [0, 2**31 - 1], so the difference fits.
    """
    return (as_int_step(step) - start.astype(jnp.int32)).astype(jnp.float32)


class Schedule:
    """Base class of fromax's schedules: ``schedule(step) -> float32 scalar``.

    A subclass names its numeric parameters in ``_leaves`` (held as arrays,
    pytree leaves) and its other parameters in ``_static`` (part of the tree
    structure), sets them in a validating ``__init__``, and computes its value
    in ``_value(step)``. Rebuilding from leaves bypasses ``__init__``, so
    tracers and JAX's placeholder leaves pass through unchecked.

    Called outside a trace, a schedule runs one compiled program per kind
    (tree structure), reused for every instance, value and step; inside
    ``jit``, ``vmap`` or ``scan`` it is traced into the caller's program.

    Example:
        >>> from fromax import schedules
        >>> s = schedules.linear(init_value=1.0, end_value=0.0, transition_steps=4)
        >>> float(s(1))
        0.75
        >>> leaves = jax.tree.leaves(s)  # the numeric parameters are data
        >>> len(leaves)
        4
    """

    _leaves: ClassVar[tuple[str, ...]] = ()
    _static: ClassVar[tuple[str, ...]] = ()
    # ``schedule * x`` and ``to_config`` are written in _compose and _config, which build
    # on this class; the package's __init__ puts them here ("multiply", "to_config"), so
    # that no module of the package imports another in a circle.
    _operations: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_with_keys(
            cls, cls._flatten_with_keys, cls._unflatten, cls._flatten
        )
        if cls.__module__.startswith(f"{__package__}."):
            _DEFINED[cls.__name__] = cls

    def _flatten_with_keys(self):
        children = [(jax.tree_util.GetAttrKey(n), getattr(self, n)) for n in self._leaves]
        return children, tuple(getattr(self, n) for n in self._static)

    def _flatten(self):
        return [getattr(self, n) for n in self._leaves], tuple(
            getattr(self, n) for n in self._static
        )

    @classmethod
    def _unflatten(cls, static, children):
        obj = object.__new__(cls)
        for n, v in zip(cls._leaves, children, strict=True):
            object.__setattr__(obj, n, v)
        for n, v in zip(cls._static, static, strict=True):
            object.__setattr__(obj, n, v)
        return obj

    def __call__(self, step: Any) -> jax.Array:
        if not _tracing(step, self):
            # Outside a trace, one compiled program per kind of schedule (its tree
            # structure), shared by every instance and step: evaluating op by op
            # would dispatch each operation apart (sgdr's cycle walk: 300 of them).
            return _compiled_value(self, step)
        value = jnp.asarray(self._value(step))
        return value.astype(compute_dtype(value.dtype))

    def _value(self, step: Any) -> jax.Array:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The schedule's name, as written in code and in specs."""
        return type(self).__name__

    def _fields(self) -> dict[str, Any]:
        names = [n for n in self._signature_order() if n in self._leaves or n in self._static]
        return {n: getattr(self, n) for n in names}

    @classmethod
    def _signature_order(cls) -> list[str]:
        return list(inspect.signature(cls.__init__).parameters)[1:]

    def _boundaries(self, until: int) -> list[float]:
        """The steps in [0, until] where the schedule changes phase (for plots).

        Computed from concrete parameters; a subclass without phases has none.
        """
        del until
        return []

    def to_config(self) -> dict[str, Any]:
        """The schedule as a dict of JSON types; ``from_config`` rebuilds it.

        Example:
            >>> from fromax import schedules
            >>> config = schedules.cosine_decay(1e-3, decay_steps=100).to_config()
            >>> config
            {'name': 'cosine_decay', 'init_value': 0.001, 'decay_steps': 100,
             'alpha': 0.0, 'exponent': 1.0}
            >>> schedules.from_config(config) == schedules.cosine_decay(1e-3, decay_steps=100)
            True

        Raises:
            TypeError: for a schedule that wraps a Python callable (``function``),
                or one whose numbers are being traced.
        """
        return self._operations["to_config"](self)

    def __mul__(self, other: Any) -> Schedule:
        """``schedule * number`` is ``scale``; ``schedule * schedule`` is ``product``."""
        return self._operations["multiply"](self, other)

    def __rmul__(self, other: Any) -> Schedule:
        return self._operations["multiply"](other, self)

    def replace(self, **changes: Any) -> Schedule:
        """A copy with some parameters changed, validated like a new one.

        Example:
            >>> from fromax import schedules
            >>> s = schedules.constant(0.1).replace(value=0.2)
            >>> float(s(0))
            0.2
        """
        unknown = set(changes) - set(self._fields())
        if unknown:
            raise TypeError(
                f"{self.name} has no parameter {sorted(unknown)}; "
                f"its parameters are {list(self._fields())}"
            )
        return type(self)(**{**self._fields(), **changes})

    def __repr__(self) -> str:
        parts = [f"{n}={_format(v)}" for n, v in self._fields().items()]
        return f"{self.name}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        """Same kind, same static parameters, equal numbers (identity while traced)."""
        if type(self) is not type(other):
            return NotImplemented
        mine, my_tree = jax.tree.flatten(self)
        theirs, their_tree = jax.tree.flatten(other)
        # jaxlib ships no type stub for PyTreeDef, so mypy cannot compare two.
        if my_tree != their_tree:  # type: ignore[operator]
            return False
        pairs = [(_concrete(a), _concrete(b)) for a, b in zip(mine, theirs, strict=True)]
        concrete = [(a, b) for a, b in pairs if a is not None and b is not None]
        if len(concrete) < len(pairs):
            return self is other
        return all(np.array_equal(a, b) for a, b in concrete)

    def __hash__(self) -> int:
        # Consistent with __eq__: equal schedules share kind and static parameters.
        # Lets a schedule be jitted directly, as in jax.jit(schedule).
        return hash((type(self), jax.tree.structure(self)))


def _format(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, Schedule):
        return repr(value)
    concrete = _concrete(value) if isinstance(value, jax.Array | np.ndarray) else None
    if concrete is not None:
        if concrete.ndim:
            return "[" + ", ".join(_format(v) for v in concrete.tolist()) + "]"
        item = concrete.item()
        return str(np.float32(item)) if isinstance(item, float) else repr(item)
    if isinstance(value, jax.Array | np.ndarray):
        return "<traced>"
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return repr(value)


class function(Schedule):
    """A schedule from any traceable callable ``step -> scalar``.

    fromax wraps a plain callable in this when it is given one as a
    hyperparameter. The callable is static (part of the tree structure), so
    it must be traceable with an integer array step: use ``jnp.where``, not
    ``if``. Its result is returned in float32 (or wider).

    Args:
        fn: ``fn(step) -> scalar``.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax import schedules
        >>> s = schedules.function(lambda step: 0.1 * 0.5 ** (step // 10))
        >>> float(s(25))
        0.025
    """

    _static = ("fn",)

    def __init__(self, fn: Callable[[jax.Array], Any]):
        if not callable(fn):
            raise TypeError(f"fn must be callable as fn(step), got {fn!r}")
        self.fn = fn

    def _value(self, step: Any) -> jax.Array:
        return self.fn(jnp.asarray(step))
