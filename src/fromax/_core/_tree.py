"""Lifting per-array maths to pytrees, with one set of checks and dtype rules.

Every optimiser in fromax writes its maths for ONE array; ``map_arrays``
applies it leaf by leaf. Leaves that are None (as optax's masks leave them)
stay None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "check_param_dtypes",
    "compute_dtype",
    "copy_in_compute_dtype",
    "flatten_up_to",
    "is_none",
    "map_arrays",
    "scale_in_compute_dtype",
    "zeros_along",
    "zeros_in_compute_dtype",
]


def compute_dtype(dtype: Any) -> np.dtype:
    """The dtype to compute in: float32, or the array's own dtype if wider."""
    # JAX's standard lattice, asked for explicitly: under strict promotion
    # promote_types refuses pairs such as (bfloat16, float32).
    with jax.numpy_dtype_promotion("standard"):
        return np.dtype(jnp.promote_types(dtype, jnp.float32))


def check_param_dtypes(params: Any, owner: str, complex_refused: str = "") -> None:
    """Raises TypeError, naming the leaf, for parameters ``owner`` cannot train.

    Integer and boolean parameters are refused: a step of 0.3 rounds away
    (``sgd`` would leave them unchanged, a normalised step scrambles them).
    Complex parameters are refused when ``complex_refused`` says why.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import check_param_dtypes
        >>> check_param_dtypes({"w": jnp.arange(3)}, "sgd")
        Traceback (most recent call last):
        ...
        TypeError: sgd cannot train params['w'] of dtype int32: cast it to a float dtype ...
    """
    leaves = jax.tree_util.tree_flatten_with_path(params, is_leaf=is_none)[0]
    for path, leaf in leaves:
        if leaf is None:
            continue
        dtype = np.dtype(leaf.dtype if hasattr(leaf, "dtype") else np.result_type(leaf))
        where = f"params{jax.tree_util.keystr(path)}"
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"{owner} cannot train {where} of dtype {dtype}: cast it to a float dtype "
                f"({where}.astype(jnp.float32)), or leave it out with fromax.masked"
            )
        if complex_refused and jnp.issubdtype(dtype, jnp.complexfloating):
            raise TypeError(
                f"{owner} does not take complex parameters ({where} is {dtype}): "
                f"{complex_refused}; train the real and imaginary parts as two real arrays"
            )


def is_none(x: Any) -> bool:
    """``is_leaf`` for jax.tree functions: a None is a leaf (an optax-style masked-out
    entry), not an empty subtree."""
    return x is None


def _describe(tree: Any) -> str:
    text = str(jax.tree.structure(tree, is_leaf=is_none))
    return text if len(text) <= 200 else text[:200] + "..."


def flatten_up_to(treedef: Any, tree: Any) -> list[Any]:
    """``tree``'s subtrees at the leaves of ``treedef`` (a prefix of ``tree``'s structure).

    Example:
        >>> import jax
        >>> from fromax._core._tree import flatten_up_to
        >>> flatten_up_to(jax.tree.structure({"a": 0, "b": 0}), {"a": (1, 2), "b": 3})
        [(1, 2), 3]
    """
    # jaxlib ships no type stub for PyTreeDef: mypy does not know flatten_up_to.
    return treedef.flatten_up_to(tree)


def check_same_structure(
    trees: Sequence[Any], names: Sequence[str], *, shaped: int | None = None
) -> None:
    """Raises ValueError naming the first tree whose structure or shapes differ.

    The leaves of the first ``shaped`` trees (default: all) must also match in shape.
    """
    reference = jax.tree.structure(trees[0], is_leaf=is_none)
    for tree, name in zip(trees[1:], names[1:], strict=True):
        structure = jax.tree.structure(tree, is_leaf=is_none)
        # jaxlib ships no type stub for PyTreeDef, so mypy cannot compare two.
        if structure != reference:  # type: ignore[operator]
            raise ValueError(
                f"{name} and {names[0]} must have the same tree structure; pass the "
                f"{name} that the {names[0]} were computed for. {names[0]}: "
                f"{_describe(trees[0])}; {name}: {_describe(tree)}"
            )
    shaped = len(trees) if shaped is None else shaped
    if shaped < 2:
        return
    paths = jax.tree_util.tree_flatten_with_path(trees[0], is_leaf=is_none)[0]
    for tree, name in zip(trees[1:shaped], names[1:shaped], strict=True):
        for (path, a), b in zip(paths, jax.tree.leaves(tree, is_leaf=is_none), strict=True):
            if a is not None and b is not None and np.shape(a) != np.shape(b):
                raise ValueError(
                    f"{name}{jax.tree_util.keystr(path)} has shape {np.shape(b)} but "
                    f"{names[0]}{jax.tree_util.keystr(path)} has shape {np.shape(a)}"
                )


def map_arrays(
    fn: Callable[..., Any],
    *trees: Any,
    names: Sequence[str],
    per_tensor: Sequence[Any] = (),
    outputs: int = 1,
) -> Any:
    """Applies ``fn`` to matching leaves of ``trees``, after checking they match.

    ``trees[0]`` sets the structure; a leaf that is None there gives None.
    ``trees`` hold arrays of the same shapes (updates, params, moments);
    ``per_tensor`` holds trees of one value per tensor (a norm), passed to
    ``fn`` after them. ``names`` names all of them, in order, for error
    messages (``"updates"``, ``"params"``, ``"state.initial_norms"``).

    With ``outputs=k > 1``, ``fn`` returns a tuple of k values per leaf and
    ``map_arrays`` returns a tuple of k trees (e.g. the update and a moment).

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import map_arrays
        >>> double, square = map_arrays(
        ...     lambda g: (2 * g, g * g), {"a": jnp.arange(3.0)}, names=("updates",), outputs=2)
        >>> square["a"]
        Array([0., 1., 4.], dtype=float32)
    """
    check_same_structure((*trees, *per_tensor), names, shaped=len(trees))
    trees = (*trees, *per_tensor)

    def leaf(first: Any, *rest: Any) -> Any:
        if first is None:
            return None if outputs == 1 else (None,) * outputs
        return fn(first, *rest)

    if outputs == 1:
        return jax.tree.map(leaf, *trees, is_leaf=is_none)
    leaves, treedef = jax.tree.flatten(trees[0], is_leaf=is_none)
    others = [flatten_up_to(treedef, t) for t in trees[1:]]
    results = [leaf(*args) for args in zip(leaves, *others, strict=True)]
    return tuple(jax.tree.unflatten(treedef, [r[i] for r in results]) for i in range(outputs))


def scale_in_compute_dtype(factor: jax.Array, updates: Any) -> Any:
    """``factor * u`` for each array u of ``updates``, computed in float32 (or
    wider); each result keeps its array's dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import scale_in_compute_dtype
        >>> scale_in_compute_dtype(jnp.float32(0.5), {"u": jnp.ones(2, jnp.bfloat16)})
        {'u': Array([0.5, 0.5], dtype=bfloat16)}
    """

    def one(u: jax.Array) -> jax.Array:
        work = compute_dtype(u.dtype)  # the factor cast too: strict promotion mixes no dtypes
        return (factor.astype(work) * u.astype(work)).astype(u.dtype)

    return map_arrays(one, updates, names=("updates",))


def zeros_in_compute_dtype(tree: Any) -> Any:
    """Zeros like ``tree``'s arrays, in float32 (or wider): optimiser moments.

    Built with ``zeros_like``, so each moment gets its parameter's sharding.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import zeros_in_compute_dtype
        >>> zeros_in_compute_dtype({"w": jnp.ones(2, jnp.bfloat16)})
        {'w': Array([0., 0.], dtype=float32)}
    """
    return map_arrays(
        lambda x: jnp.zeros_like(x, dtype=compute_dtype(x.dtype)), tree, names=("params",)
    )


def copy_in_compute_dtype(tree: Any) -> Any:
    """A copy of ``tree``'s arrays in float32 (or wider): state that starts at the
    parameters (an average, slow weights, schedule-free's z).

    A copy even where the dtype is already right: a state that aliased the
    parameters could not be donated with them.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import copy_in_compute_dtype
        >>> copy_in_compute_dtype({"w": jnp.ones(2, jnp.bfloat16)})
        {'w': Array([1., 1.], dtype=float32)}
    """
    return map_arrays(
        lambda p: jnp.array(p, dtype=compute_dtype(p.dtype), copy=True), tree, names=("params",)
    )


def zeros_along(param: jax.Array, axes: Sequence[int], dtype: Any = None) -> jax.Array:
    """Zeros of ``param``'s sizes along ``axes`` only, in its compute dtype, sharded
    as ``param`` is along them: a factored moment (Adafactor's rows, Nero's neurons).

    ``zeros_like`` cannot give a smaller array its parameter's sharding, and a plain
    ``jnp.zeros(shape)`` puts the whole moment on device 0. ``dtype`` (None: the
    compute dtype) is the storage dtype of a moment kept in lower precision.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._tree import zeros_along
        >>> zeros_along(jnp.ones((2, 3), jnp.bfloat16), (1,))
        Array([0., 0., 0.], dtype=float32)
    """
    shape = tuple(param.shape[axis] for axis in axes)
    dtype = compute_dtype(param.dtype) if dtype is None else dtype
    # A tracer has no placement to copy: under jit, XLA's sharding propagation decides.
    sharding = None if isinstance(param, jax.core.Tracer) else getattr(param, "sharding", None)
    if isinstance(sharding, jax.sharding.NamedSharding):
        spec = (*sharding.spec, *(None,) * (param.ndim - len(sharding.spec)))
        kept = jax.sharding.PartitionSpec(*(spec[axis] for axis in axes))
        return jnp.zeros(shape, dtype, device=jax.sharding.NamedSharding(sharding.mesh, kept))
    return jnp.zeros(shape, dtype)
