"""``partition``: a transformation per group of parameters, each group's hyperparameters as data.

Each leaf of the parameters gets a label; each label names a transformation
(or None: the group is frozen). A group's transformation sees its own leaves
and None in place of the others (as ``masked``'s inner does), so its state
holds nothing for them. The state keeps each group's state under a
``GroupKey(label)``, so :func:`~fromax.hyperparams` keys every one of its
hyperparameters ``"<label>/<name>"``.

A hyperparameter can be shared: one schedule, held once in the partition's
state, drives that hyperparameter in every group that has it, times a
per-group multiplier (big_vision's ``lr_mults``), itself a hyperparameter.
The group's own schedule for it is replaced by a :class:`shared_value` that
the partition sets before each of the group's updates, so the group reports
the value it used (the effective one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fromax._core._bounds import NONNEGATIVE, Bounds
from fromax._core._group_key import GroupKey
from fromax._core._hyperparams import TransformState, _map_states, scheduled_transformation
from fromax._core._labels import labels_by_leaf
from fromax._core._registry import Hyperparameter, Tree, declare
from fromax._core._transformation import GradientTransformation, check_state, forward_extra
from fromax._core._tree import flatten_up_to
from fromax.schedules import as_schedule
from fromax.schedules._basic import constant

__all__ = ["PartitionState", "partition", "shared_value"]

_OWNER = "partition"


class Groups(dict):
    """``{label: state}``, flattened with a ``GroupKey(label)`` per entry: the key that
    makes :func:`~fromax.hyperparams` prefix the hyperparameters under it with the label."""


def _flatten_groups_with_keys(groups: Groups) -> tuple[list[tuple[GroupKey, Any]], tuple]:
    labels = tuple(sorted(groups))
    return [(GroupKey(label), groups[label]) for label in labels], labels


def _flatten_groups(groups: Groups) -> tuple[list[Any], tuple]:
    labels = tuple(sorted(groups))
    return [groups[label] for label in labels], labels


jax.tree_util.register_pytree_with_keys(
    Groups,
    _flatten_groups_with_keys,
    lambda labels, children: Groups(zip(labels, children, strict=True)),
    _flatten_groups,
)


class PartitionState(NamedTuple):
    """``partition``'s state.

    Attributes:
        groups: ``{label: that group's transformation's state}`` (None for a
            frozen group).
        multipliers: ``{label: TransformState}`` of ``"<name>_multiplier"``,
            for each group a shared hyperparameter drives.
        shared: the ``TransformState`` of the shared hyperparameters, or
            None when nothing is shared.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.partition({"a": fromax.sgd(0.1), "b": None}, {"w": "a", "v": "b"})
        >>> state = opt.init({"w": jnp.ones(2), "v": jnp.ones(2)})
        >>> sorted(state.groups), state.groups["b"], state.shared
        (['a', 'b'], None, None)
    """

    groups: Groups
    multipliers: Groups
    shared: Any


class shared_value(constant):  # a constant, told apart by its type
    """The value a ``partition`` sets for a shared hyperparameter in a group.

    ``partition`` puts this in place of the group's own schedule and sets it
    before each of the group's updates to the shared schedule's value times
    the group's multiplier. Set the shared hyperparameter or the multiplier;
    setting this one is refused at the next update.

    Args:
        value: the value, a float32 scalar.

    Example:
        >>> import fromax
        >>> float(fromax.shared_value(0.5)(10))
        0.5
    """


def _check_transforms(value: Any, where: str) -> None:
    if not isinstance(value, Mapping) or not value:
        raise TypeError(
            f"{where} must be a non-empty dict {{label: transformation or None}}, "
            f"got {type(value).__name__}"
        )
    for label, transform in value.items():
        _check_label(label, f"{where}'s key")
        if transform is not None and not (
            callable(getattr(transform, "init", None))
            and callable(getattr(transform, "update", None))
        ):
            raise TypeError(
                f"{where}[{label!r}] must be a gradient transformation or None (frozen), "
                f"got {type(transform).__name__}"
            )


def _check_label(label: Any, where: str) -> None:
    if not isinstance(label, str) or not label:
        raise TypeError(f"{where} must be a non-empty string, got {label!r}")
    if "/" in label:
        # Keys are "<label>/<name>": a "/" in a label could make two groups' keys equal.
        raise ValueError(f"{where} must not contain '/', got {label!r}")


def _is_label_tree(labels: Any) -> bool:
    leaves = jax.tree.leaves(labels)
    return bool(leaves) and all(isinstance(leaf, str) for leaf in leaves)


def _check_labels(value: Any, where: str) -> None:
    if callable(value) and not _is_label_tree(value):
        return
    leaves = jax.tree_util.tree_leaves_with_path(value)
    if not leaves:
        raise TypeError(f"{where} must be a pytree of labels or a callable, got {value!r}")
    for path, leaf in leaves:
        if not isinstance(leaf, str):
            raise TypeError(
                f"{where} must be a pytree of string labels or a callable, got {leaf!r} "
                f"at {jax.tree_util.keystr(path) or '(the root)'}"
            )
        _check_label(leaf, f"{where}{jax.tree_util.keystr(path)}")


def _check_shared(value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a dict {{name: number or schedule}}, got {value!r}")
    for name, schedule in value.items():
        if not isinstance(name, str) or isinstance(schedule, bool | str):
            raise TypeError(f"{where} must map names to numbers or schedules, got {name!r}")
        as_schedule(schedule, f"{where}[{name!r}]")


def _check_multipliers(value: Any, where: str) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(m, Mapping) for m in value.values()):
        raise TypeError(
            f"{where} must be a dict {{label: {{name: multiplier}}}}, got {type(value).__name__}"
        )
    for label, names in value.items():
        for name, multiplier in names.items():
            if isinstance(multiplier, bool | str):
                raise TypeError(f"{where}[{label!r}][{name!r}] must be a number or a schedule")
            as_schedule(multiplier, f"{where}[{label!r}][{name!r}]")


TRANSFORMS = Tree("a dict {label: transformation, or None for a frozen group}", _check_transforms)
LABELS = Tree("a pytree of labels like the parameters, or a callable params -> one", _check_labels)


def _leaf_labels(labels: Any, tree: Any, known: Mapping[str, Any]) -> tuple[list[Any], Any]:
    """Each leaf's label in flattening order (None for a None leaf), and the treedef."""
    if callable(labels) and not _is_label_tree(labels):
        labels = labels(tree)

    pairs, treedef = labels_by_leaf(labels, tree, _OWNER)
    for path, leaf, label in pairs:
        if leaf is None:
            continue
        where = f"the leaf at {jax.tree_util.keystr(path) or '(the root)'}"
        if label is None:
            raise ValueError(f"{_OWNER}'s labels give no label to {where}: label every leaf")
        if not isinstance(label, str):
            raise TypeError(f"{_OWNER}'s labels must be strings, got {label!r} for {where}")
        if label not in known:
            raise ValueError(
                f"{_OWNER}'s labels give {where} the label {label!r}, which has no "
                f"transformation; transforms has: {', '.join(map(repr, known))}"
            )
    return [label for _, _, label in pairs], treedef


def _select(tree: Any, flat: list[Any], treedef: Any, label: str) -> Any:
    leaves = flatten_up_to(treedef, tree)
    return treedef.unflatten(
        [x if lab == label else None for x, lab in zip(leaves, flat, strict=True)]
    )


def _names_in(group_state: Any) -> dict[str, Bounds]:
    """``{name: bounds}`` of every hyperparameter of the TransformStates in a group's state."""
    found: dict[str, Bounds] = {}

    def collect(path: Any, node: TransformState) -> TransformState:
        for name, bounds in node.bounds:
            found.setdefault(name, bounds)
        return node

    _map_states(group_state, collect)
    return found


def _drive(group_state: Any, values: dict[str, jax.Array], label: str, first: bool) -> Any:
    """The group's state with each shared hyperparameter following ``values``."""

    def drive(path: Any, node: TransformState) -> TransformState:
        mine = [name for name in values if name in node.schedules]
        if not mine:
            return node
        for name in mine:
            if not first and not isinstance(node.schedules[name], shared_value):
                raise ValueError(
                    f"{_OWNER}'s {label}/{name} follows the shared {name} times "
                    f"{label}/{name}_multiplier: set those with set_hyperparams instead"
                )
        # Copies: no two leaves of the state share a buffer (a jitted step may donate it).
        schedules = {**node.schedules, **{n: shared_value(jnp.copy(values[n])) for n in mine}}
        if not first:
            return dataclasses.replace(node, schedules=schedules)
        hyper = {**node.hyperparams, **{n: jnp.copy(values[n]) for n in mine}}
        return dataclasses.replace(node, schedules=schedules, hyperparams=hyper)

    return _map_states(group_state, drive)


def _values_of(spec: Mapping[str, tuple[Any, Bounds]]) -> GradientTransformation:
    """A transformation whose "updates" are its hyperparameters' values at this step."""
    return scheduled_transformation(
        _OWNER, spec, init=lambda params: None, update=lambda u, s, p, values, step: (values, s)
    )


def _step(state: TransformState) -> tuple[dict[str, jax.Array], TransformState]:
    """The values of ``state``'s hyperparameters at its step, and the state one step on."""
    bounds = dict(state.bounds)
    spec = {name: (schedule, bounds[name]) for name, schedule in state.schedules.items()}
    values, new_state = _values_of(spec).update(None, state)
    return values, new_state


@declare(
    Hyperparameter("transforms", TRANSFORMS, "one transformation per label; None freezes"),
    Hyperparameter("labels", LABELS, "each leaf's label"),
    Hyperparameter(
        "shared",
        Tree("a dict {name: number or schedule}", _check_shared),
        "hyperparameters that drive every group having them, times a multiplier",
        optional=True,
        none_means="nothing shared",
    ),
    Hyperparameter(
        "multipliers",
        Tree("a dict {label: {name: number or schedule}}", _check_multipliers),
        "each group's multiplier of a shared hyperparameter",
        optional=True,
        none_means="1 for every group",
    ),
    summary="applies one transformation per group of leaves, each with its own hyperparameters",
    role="transform",
)
def partition(
    transforms: Mapping[str, Any],
    labels: Any,
    shared: Mapping[str, Any] | None = None,
    multipliers: Mapping[str, Mapping[str, Any]] | None = None,
) -> GradientTransformation:
    """Applies a transformation per group of leaves; ``labels`` says which leaf is in which group.

    As optax's ``multi_transform``: each group's transformation sees its
    leaves and None in place of the others, so its state holds nothing for
    them. A group whose transformation is None is frozen: its updates are
    zeros and it has no state. Every hyperparameter of a group is keyed
    ``"<label>/<name>"`` in :func:`~fromax.hyperparams` and
    :func:`~fromax.set_hyperparams` (a label holds no ``"/"``, so two groups
    never share a key).

    ``shared={"learning_rate": schedule}`` makes one schedule drive the
    learning rate of every group that has one, times the group's multiplier
    (``multipliers={"adamw": {"learning_rate": 0.1}}``; 1 by default). The
    shared schedule is keyed ``"learning_rate"`` and each multiplier
    ``"<label>/learning_rate_multiplier"``: both are data, schedulable and
    settable without a retrace. ``"<label>/learning_rate"`` reports the
    value the group used (shared times multiplier), and is set through those
    two: setting it directly is refused at the next update. After
    ``set_hyperparams``, the groups' effective values are reported as
    changed once the next update has run. The groups' own values for a shared
    hyperparameter are not used. Multipliers are meant for learning rates and
    weight decays; the effective value is not checked against the group's
    bounds.

    Refused at ``init``, with the leaf's path named: a leaf with no label, a
    label with no transformation; and a transformation with no leaf, a
    shared hyperparameter no group has, a multiplier for a group without it.

    Args:
        transforms: ``{label: transformation}`` (fromax's or optax's); None
            for a frozen group.
        labels: a pytree of labels shaped like the parameters (or a prefix
            of them: a label stands for every leaf under it), or a callable
            ``params -> such a pytree``, given the parameters at ``init`` and
            the updates at ``update`` (as optax's).
        shared: ``{name: number or schedule}``, the hyperparameters that
            drive every group having them.
        multipliers: ``{label: {name: number or schedule}}``.

    Returns:
        A :class:`~fromax.GradientTransformation` whose state is a
        :class:`PartitionState`.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> opt = fromax.partition(
        ...     {"muon": fromax.muon(0.0), "adamw": fromax.adamw(0.0), "frozen": None},
        ...     {"w": "muon", "b": "adamw", "embed": "frozen"},
        ...     shared={"learning_rate": schedules.linear(0.0, 0.02, transition_steps=10)},
        ...     multipliers={"adamw": {"learning_rate": 0.1}})
        >>> params = {"w": jnp.ones((4, 4)), "b": jnp.ones(4), "embed": jnp.ones((8, 4))}
        >>> state = opt.init(params)
        >>> for _ in range(5):
        ...     updates, state = opt.update(params, state, params)
        >>> h = fromax.hyperparams(state)
        >>> [round(float(h[k]), 6) for k in ("learning_rate", "muon/learning_rate",
        ...     "adamw/learning_rate", "adamw/learning_rate_multiplier")]
        [0.008, 0.008, 0.0008, 0.1]
        >>> updates["embed"]
        Array([[0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.]], dtype=float32)
    """
    transforms = dict(transforms)
    shared = dict(shared or {})
    multipliers = {label: dict(names) for label, names in (multipliers or {}).items()}
    for label, names in multipliers.items():
        if label not in transforms:
            raise ValueError(
                f"{_OWNER}'s multipliers name the label {label!r}, which has no transformation"
            )
        for name in names:
            if name not in shared:
                raise ValueError(
                    f"{_OWNER}'s multipliers[{label!r}] names {name!r}, which is not shared: "
                    f"add it to shared"
                )
    updaters: dict[str, Callable[..., Any]] = {
        label: forward_extra(t) for label, t in transforms.items() if t is not None
    }

    def driven(group_state: Any, label: str) -> dict[str, Bounds]:
        """The shared names this group has, with the group's bounds for them."""
        names = _names_in(group_state)
        return {name: names[name] for name in shared if name in names}

    def init(params: Any) -> PartitionState:
        flat, treedef = _leaf_labels(labels, params, transforms)
        groups = Groups()
        for label, transform in transforms.items():
            if label not in flat:
                raise ValueError(
                    f"{_OWNER}'s transforms[{label!r}] has no leaf: no leaf is labelled {label!r}"
                )
            chosen = _select(params, flat, treedef, label)
            groups[label] = None if transform is None else transform.init(chosen)
        if not shared:
            return PartitionState(groups, Groups(), None)
        bounds: dict[str, Bounds] = {}
        for label in transforms:
            for name, b in driven(groups[label], label).items():
                bounds.setdefault(name, b)
                if f"{name}_multiplier" in _names_in(groups[label]):
                    raise ValueError(
                        f"{_OWNER}'s group {label!r} has a hyperparameter "
                        f"{name}_multiplier, the key of its multiplier of {name}"
                    )
            for name in multipliers.get(label, {}):
                if name not in driven(groups[label], label):
                    raise ValueError(
                        f"{_OWNER}'s multipliers[{label!r}] names {name!r}, which the group "
                        f"{label!r} does not have"
                    )
        for name in shared:
            if name not in bounds:
                raise ValueError(
                    f"{_OWNER}'s shared {name} drives no group: no group's transformation has "
                    f"a hyperparameter {name!r}"
                )
        shared_state = _values_of({n: (v, bounds[n]) for n, v in shared.items()}).init(None)
        factors = Groups()
        for label in transforms:
            names = driven(groups[label], label)
            if not names:
                continue
            given = multipliers.get(label, {})
            factors[label] = _values_of(
                {f"{n}_multiplier": (given.get(n, 1.0), NONNEGATIVE) for n in names}
            ).init(None)
            values = {
                n: shared_state.hyperparams[n] * factors[label].hyperparams[f"{n}_multiplier"]
                for n in names
            }
            groups[label] = _drive(groups[label], values, label, first=True)
        return PartitionState(groups, factors, shared_state)

    def update(
        updates: Any, state: PartitionState, params: Any = None, **extra: Any
    ) -> tuple[Any, PartitionState]:
        check_state(state, PartitionState, _OWNER)
        flat, treedef = _leaf_labels(labels, updates, transforms)
        shared_values, shared_state = ({}, None) if state.shared is None else _step(state.shared)
        groups, factors = Groups(), Groups()
        new_leaves: list[Any] = list(flatten_up_to(treedef, updates))
        for label in transforms:
            group_state = state.groups[label]
            if label in state.multipliers:
                factor_values, factors[label] = _step(state.multipliers[label])
                values = {
                    name[: -len("_multiplier")]: shared_values[name[: -len("_multiplier")]] * v
                    for name, v in factor_values.items()
                }
                group_state = _drive(group_state, values, label, first=False)
            chosen = _select(updates, flat, treedef, label)
            if label not in updaters:
                groups[label] = None
                new = jax.tree.map(jnp.zeros_like, chosen)
            else:
                chosen_params = None if params is None else _select(params, flat, treedef, label)
                new, groups[label] = updaters[label](chosen, group_state, chosen_params, **extra)
            for i, (lab, u) in enumerate(zip(flat, flatten_up_to(treedef, new), strict=True)):
                if lab == label:
                    new_leaves[i] = u
        return treedef.unflatten(new_leaves), PartitionState(groups, factors, shared_state)

    return GradientTransformation(init, update)
