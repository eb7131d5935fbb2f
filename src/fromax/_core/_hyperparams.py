"""Hyperparameters as data: resolved once, stored in the state, read and changed.

Every fromax transformation is built by :func:`scheduled_transformation`. It
turns each hyperparameter (a number, a JAX scalar, a schedule or a callable)
into a schedule once, and keeps in the state:

- ``count``: the number of updates done, one counter for the transformation;
- ``schedules``: what each hyperparameter follows (pytrees: numbers are leaves);
- ``hyperparams``: the values the latest update used, each evaluated once.

``update`` reads the schedules from the state, not from the closure, so
changing one with :func:`set_hyperparams` between jitted steps changes data,
not code: no retrace while the tree structure stays the same.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._bounds import Bounds
from fromax._core._group_key import GroupKey, GroupLabel
from fromax._core._state_dicts import ScheduleMap, ValueDict
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import check_param_dtypes
from fromax.schedules import Schedule, as_schedule, constant
from fromax.schedules._base import _concrete

__all__ = [
    "TransformState",
    "hyperparams",
    "scheduled_transformation",
    "set_hyperparams",
]


@dataclasses.dataclass(frozen=True)
class TransformState:
    """The state of a fromax transformation: its step, hyperparameters and own state.

    Attributes:
        count: int32 scalar, the number of updates done (saturates at 2**31 - 1).
        schedules: ``{name: schedule}``, what each hyperparameter follows.
        hyperparams: ``{name: float32 scalar}``, the values the latest update
            used (before the first update: the values it will use).
        inner: the algorithm's own state (moments, initial norms, ...).
        owner: the transformation's name (static).
        bounds: ``((name, Bounds), ...)``, what each hyperparameter admits (static).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.fromage(0.01).init({"w": jnp.ones(2)})
        >>> int(state.count), state.schedules
        (0, {'learning_rate': constant(value=0.01)})
    """

    count: jax.Array
    schedules: Mapping[str, Schedule]
    hyperparams: dict[str, jax.Array]
    inner: Any
    owner: str = dataclasses.field(metadata={"static": True})
    bounds: tuple[tuple[str, Bounds], ...] = dataclasses.field(metadata={"static": True})

    def __post_init__(self) -> None:
        # Plain dicts given here become the two containers that optax's tree_get and
        # tree_set tell apart (see _state_dicts); anything else (tracers, None, jax's
        # placeholders while it rebuilds trees) is kept as it is.
        if type(self.schedules) is dict:
            object.__setattr__(self, "schedules", ScheduleMap(self.schedules))
        if type(self.hyperparams) is dict:
            object.__setattr__(self, "hyperparams", ValueDict(self.hyperparams))


_FIELDS = ("count", "schedules", "hyperparams", "inner")


def _flatten_state(state: TransformState) -> tuple[list[tuple[Any, Any]], tuple[str, Any]]:
    children = [(jax.tree_util.GetAttrKey(name), getattr(state, name)) for name in _FIELDS]
    return children, (state.owner, state.bounds)


def _unflatten_state(static: tuple[str, Any], children: Any) -> TransformState:
    count, schedules, values, inner = children
    owner, bounds = static
    if type(values) is dict:
        # Only a tree rebuilt around a replaced values dict gets here with a plain
        # dict: optax.tree_utils.tree_set(state, learning_rate=x) does that.
        raise ValueError(
            f"{owner}'s hyperparameters cannot be set in its values dict (as "
            f"optax.tree_utils.tree_set does: the next update would recompute them from "
            f"their schedules); use fromax.set_hyperparams(state, name=value)"
        )
    return TransformState(count, schedules, values, inner, owner, bounds)


jax.tree_util.register_pytree_with_keys(
    TransformState,
    _flatten_state,
    _unflatten_state,
    lambda state: ([getattr(state, name) for name in _FIELDS], (state.owner, state.bounds)),
)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _resolve(value: Any, name: str, bounds: Bounds, owner: str) -> Schedule:
    schedule = as_schedule(value, f"{owner}'s {name}")
    if isinstance(schedule, constant):
        number = _concrete(schedule.value)
        if number is not None and not bounds.admits(float(number)):
            raise ValueError(f"{owner}'s {name} must be {bounds.describe()}, got {float(number)}")
        # Hyperparameters are float32 (see _evaluate): a float64 array past float32's
        # range would become inf at the first update.
        if number is not None and abs(float(number)) > _FLOAT32_MAX:
            raise ValueError(
                f"{owner}'s {name} must be finite in float32 (at most {_FLOAT32_MAX:.4g} "
                f"in magnitude), got {float(number):g}"
            )
    return schedule


def _evaluate(schedules: Mapping[str, Schedule], count: jax.Array) -> dict[str, jax.Array]:
    # float32 whatever the schedule returns (a float64 array under jax_enable_x64):
    # a wider hyperparameter would widen the moments it multiplies at the first
    # update, and scan and cond need the state's dtypes to stay as init made them.
    return {name: schedule(count).astype(jnp.float32) for name, schedule in schedules.items()}


_MAX_COUNT = np.iinfo(np.int32).max


def _own_copy(schedules: Mapping[str, Schedule]) -> dict[str, Schedule]:
    """Schedules on buffers of their own: a step that donates the state must not
    delete the arrays of the user's schedule objects or of the optimiser's closure."""
    return jax.tree.map(jnp.copy, dict(schedules))


def _built_by_optax_inject() -> bool:
    """Whether optax's ``inject_hyperparams`` is calling the constructor being run.

    It rebuilds the transformation with the current values before every update
    and hands it the state that ``init`` made, whose schedules hold the values of
    step 0: reading those would freeze every injected hyperparameter.
    """
    frame = inspect.currentframe()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("optax.") and module.rsplit(".", 1)[-1] == "_inject":
            return True
        frame = frame.f_back
    return False


def scheduled_transformation(
    owner: str,
    hyperparams: Mapping[str, tuple[Any, Bounds]],
    init: Callable[[Any], Any],
    update: Callable[[Any, Any, Any, dict[str, jax.Array], jax.Array], tuple[Any, Any]],
    *,
    needs_params: bool = False,
    complex_refused: str = "",
) -> GradientTransformation:
    """Builds a transformation whose hyperparameters are data in its state.

    This is the one mechanism every fromax transformation uses; use it to
    write your own.

    Args:
        owner: the transformation's name, for messages (``"fromage"``).
        hyperparams: ``{name: (value, bounds)}``; each value is a number, a
            JAX scalar, a schedule or a callable ``step -> scalar``. A value of
            None leaves that hyperparameter out (an option switched off).
        init: ``init(params) -> inner_state``.
        update: ``update(updates, inner_state, params, values, step) ->
            (updates, inner_state)``, where ``values`` maps each name to its
            float32 value at this step and ``step`` is the int32 index of this
            update (0 for the first; Adam's bias correction uses ``step + 1``).
        needs_params: whether ``update`` must be given ``params``.
        complex_refused: why ``init`` refuses complex parameters (an
            algorithm with no complex meaning, such as a sign); empty where
            they are taken. Integer parameters are always refused.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        :class:`TransformState`.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> from fromax import NONNEGATIVE, scheduled_transformation
        >>> def scale(step_size):
        ...     return scheduled_transformation(
        ...         "scale", {"step_size": (step_size, NONNEGATIVE)},
        ...         init=lambda params: None,
        ...         update=lambda u, s, p, h, step: (
        ...             jax.tree.map(lambda g: -h["step_size"] * g, u), s))
        >>> opt = scale(fromax.schedules.linear(1.0, 0.0, transition_steps=2))
        >>> state = opt.init(jnp.ones(2))
        >>> updates, state = opt.update(jnp.ones(2), state)
        >>> updates, fromax.hyperparams(state)
        (Array([-1., -1.], dtype=float32), {'step_size': Array(1., dtype=float32)})
    """
    schedules = {
        name: _resolve(value, name, bounds, owner)
        for name, (value, bounds) in hyperparams.items()
        if value is not None
    }
    bounds = tuple((name, b) for name, (v, b) in hyperparams.items() if v is not None)
    # Under optax.inject_hyperparams the values given here are the current ones: they,
    # not the state's schedules, drive the update.
    source = schedules if _built_by_optax_inject() else None

    def init_fn(params: Any) -> TransformState:
        check_param_dtypes(params, owner, complex_refused)
        count = jnp.zeros((), jnp.int32)
        own = _own_copy(schedules)
        # A constant's value at step 0 is its own leaf: copied, so that no two leaves of
        # the state share a buffer (a jitted step can then donate the whole state).
        values = jax.tree.map(jnp.copy, _evaluate(own, count))
        return TransformState(count, own, values, init(params), owner, bounds)

    def update_fn(
        updates: Any, state: TransformState, params: Any = None, **extra: Any
    ) -> tuple[Any, TransformState]:
        del extra
        if not isinstance(state, TransformState) or state.owner != owner:
            found = state.owner if isinstance(state, TransformState) else type(state).__name__
            raise TypeError(
                f"{owner}'s update was given the state of {found}: pass the state that "
                f"{owner}'s init(params) returned"
            )
        if needs_params and params is None:
            raise ValueError(
                f"{owner} needs the current parameters: call update(grads, state, params)"
            )
        values = _evaluate(state.schedules if source is None else source, state.count)
        new_updates, inner = update(updates, state.inner, params, values, state.count)
        count = jnp.where(state.count < _MAX_COUNT, state.count + 1, state.count)
        return new_updates, dataclasses.replace(
            state, count=count.astype(jnp.int32), hyperparams=values, inner=inner
        )

    return GradientTransformation(init_fn, update_fn)


def _key_name(key: Any) -> str:
    if isinstance(key, GroupKey):
        return GroupLabel(key.label)
    for attribute in ("idx", "key", "name"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def _map_states(
    tree: Any, fn: Callable[[tuple[str, ...], TransformState], TransformState], prefix=()
) -> Any:
    """Rebuilds ``tree`` with ``fn(path, node)`` applied to every TransformState in it."""

    def visit(path: Any, node: Any) -> Any:
        if not isinstance(node, TransformState):
            return node
        here = prefix + tuple(_key_name(k) for k in path)
        # States nested in this one's inner state live under ".../inner/...", so a
        # wrapper whose inner state IS a TransformState gets a path of its own.
        node = dataclasses.replace(node, inner=_map_states(node.inner, fn, (*here, "inner")))
        return fn(here, node)

    return jax.tree_util.tree_map_with_path(
        visit, tree, is_leaf=lambda x: isinstance(x, TransformState)
    )


def _states(tree: Any) -> Iterator[tuple[tuple[str, ...], TransformState]]:
    found: list[tuple[tuple[str, ...], TransformState]] = []

    def collect(path: tuple[str, ...], node: TransformState) -> TransformState:
        found.append((path, node))
        return node

    _map_states(tree, collect)
    return iter(found)


def _keyed(
    states: list[tuple[tuple[str, ...], TransformState]],
) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{key: (path, name)}``: plain names where unique, else ``path/name``.

    A name under groups (``partition``'s labels) is always prefixed by them:
    ``"adamw/learning_rate"``; ``path/name`` only where that is ambiguous.
    """
    entries = [(path, name) for path, node in states for name in node.schedules]

    def scoped(path: tuple[str, ...], name: str) -> str:
        return "/".join([*(p for p in path if isinstance(p, GroupLabel)), name])

    counts: dict[str, int] = {}
    for path, name in entries:
        counts[scoped(path, name)] = counts.get(scoped(path, name), 0) + 1
    return {
        (scoped(path, name) if counts[scoped(path, name)] == 1 else "/".join((*path, name))): (
            path,
            name,
        )
        for path, name in entries
    }


def hyperparams(state: Any) -> dict[str, jax.Array]:
    """The hyperparameter values the latest update used, as a flat dict.

    Works on the state of any fromax transformation, and on chains of them
    (fromax's or optax's) and states nested in other pytrees. A name used by
    two transformations is keyed by its position: ``"0/learning_rate"``.
    Before the first update, the values are those the first update will use.

    Args:
        state: an optimiser state.

    Returns:
        ``{name: float32 scalar}``, ready for logging.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> opt = fromax.fromage(schedules.linear(0.0, 1e-2, transition_steps=100))
        >>> state = opt.init({"w": jnp.ones(3)})
        >>> for _ in range(11):
        ...     _, state = opt.update({"w": jnp.ones(3)}, state, {"w": jnp.ones(3)})
        >>> {k: round(float(v), 6) for k, v in fromax.hyperparams(state).items()}
        {'learning_rate': 0.001}
    """
    states = list(_states(state))
    nodes = dict(states)
    return {key: nodes[path].hyperparams[name] for key, (path, name) in _keyed(states).items()}


def set_hyperparams(state: Any, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """A copy of ``state`` with some hyperparameters following new values.

    Each new value is a number, a JAX scalar, a schedule or a callable, as
    when the optimiser was built, and is checked the same way. Replacing a
    constant by a constant, or a schedule by one of the same kind with other
    numbers, keeps the state's tree structure, so a jitted step is not
    retraced. Keys are those of :func:`hyperparams` (``"0/learning_rate"``
    where a name is ambiguous); pass those in ``values``.

    Args:
        state: an optimiser state.
        values: ``{key: new value}``.
        **kwargs: more ``key=new value`` pairs.

    Returns:
        The new state; the step count and the algorithm's state are kept.
        :func:`hyperparams` reports each changed hyperparameter's value at
        the state's step (the one the next update will use) until that
        update.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> opt = fromax.fromage(0.01)
        >>> state = opt.init({"w": jnp.ones(3)})
        >>> state = fromax.set_hyperparams(state, learning_rate=0.02)
        >>> state.schedules["learning_rate"]
        constant(value=0.02)
        >>> fromax.hyperparams(state)
        {'learning_rate': Array(0.02, dtype=float32)}
    """
    changes = {**(values or {}), **kwargs}
    keyed = _keyed(list(_states(state)))
    by_location: dict[tuple[tuple[str, ...], str], Any] = {}
    for key, value in changes.items():
        if key not in keyed:
            known = ", ".join(sorted(keyed)) or "none"
            raise ValueError(f"no hyperparameter {key!r} in this state; it has: {known}")
        by_location[keyed[key]] = value

    def replace(path: tuple[str, ...], node: TransformState) -> TransformState:
        mine = {name: v for (p, name), v in by_location.items() if p == path}
        if not mine:
            return node
        bounds = dict(node.bounds)
        schedules = dict(node.schedules)
        for name, value in mine.items():
            schedules[name] = _resolve(value, name, bounds[name], node.owner)
        schedules = _own_copy(schedules)
        # What hyperparams() reports until the next update: the value that update
        # will use (the schedule at the state's count), not the one replaced. Copied,
        # as in init: a constant's value would otherwise share its leaf's buffer.
        values = dict(node.hyperparams)
        for name in mine:
            values[name] = jnp.copy(schedules[name](node.count))
        return dataclasses.replace(node, schedules=schedules, hyperparams=values)

    return _map_states(state, replace)
