"""Optimiser state stored in a lower precision; the maths stays in float32.

An optimiser that keeps moments takes their storage dtype (``mu_dtype``,
``nu_dtype``, ``accumulator_dtype``: optax's names). Its per-array maths is
unchanged: ``load`` casts the stored moments to the compute dtype before it,
``store`` casts the new ones to the storage dtype after it. Under ``jit``
both casts fuse into the loops that read and write the moments, so a
bfloat16 moment costs 2 bytes of memory traffic, not 4.

``store`` rounds to nearest by default. ``StochasticRounding`` rounds up or
down at random with the probabilities that make the stored value unbiased;
the random bits are a pure function of (seed, step, moment, leaf index), so a
run resumed from a checkpoint takes the same bits as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._tree import compute_dtype, is_none, map_arrays

__all__ = [
    "StateDType",
    "StochasticRounding",
    "check_state_dtype",
    "load",
    "storage_dtype",
    "store",
    "zeros_for_state",
]


@dataclasses.dataclass(frozen=True)
class StochasticRounding:
    """bfloat16 storage with stochastic rounding: a value for ``mu_dtype`` or ``nu_dtype``.

    Each float32 value is rounded to one of its two bfloat16 neighbours, the
    upper one with probability equal to its distance from the lower one over
    the gap, so the stored value is right on average (round-to-nearest loses
    every update smaller than half a bfloat16 ulp of the moment). The random
    bits are a pure function of (``seed``, step, moment, leaf index).

    Attributes:
        dtype: the storage dtype; only ``"bfloat16"``.
        seed: a non-negative integer.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> opt = fromax.adam(1e-3, mu_dtype=fromax.StochasticRounding(seed=1))
        >>> opt.init({"w": jnp.zeros(2)}).inner.mu["w"].dtype
        dtype(bfloat16)
    """

    dtype: str = "bfloat16"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dtype != "bfloat16":
            raise ValueError(
                f"StochasticRounding's dtype must be 'bfloat16', got {self.dtype!r}; "
                "for other dtypes pass the dtype itself (rounding to nearest)"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(
                f"StochasticRounding's seed must be an integer >= 0, got {self.seed!r}"
            )


_BFLOAT16: np.dtype = np.dtype(jnp.bfloat16)

StateDType: TypeAlias = "str | np.dtype | type | StochasticRounding | None"
"""A moment's storage dtype: None (the compute dtype), a float dtype or its name,
or :class:`StochasticRounding`."""


def _float_dtype(value: Any) -> np.dtype | None:
    try:
        dtype = jnp.dtype(value)
    except TypeError:
        return None
    return dtype if jnp.issubdtype(dtype, jnp.floating) else None


def check_state_dtype(value: Any, where: str) -> None:
    """Raises TypeError naming ``where`` unless ``value`` is a storage dtype."""
    if value is None or isinstance(value, StochasticRounding):
        return
    if isinstance(value, bool) or _float_dtype(value) is None:
        raise TypeError(
            f"{where} must be None, a float dtype or its name ('bfloat16', 'float32') "
            f"or fromax.StochasticRounding(), got {value!r}"
        )


def storage_dtype(spec: StateDType, like: Any, *, real: bool = False) -> np.dtype:
    """The dtype a moment of the array ``like`` is stored in under ``spec``.

    ``real``: a second moment (|g|**2), real for a complex parameter.
    """
    if spec is None:
        dtype = compute_dtype(like.dtype)
        return jnp.finfo(dtype).dtype if real else dtype
    if isinstance(spec, StochasticRounding):
        return _BFLOAT16
    # Typed Any: resolving numpy's dozens of dtype() overloads against the
    # StateDType union took the type checker 6 seconds.
    named: Any = spec
    return np.dtype(named)


def zeros_for_state(params: Any, spec: StateDType, *, real: bool = False) -> Any:
    """Zeros like ``params``' arrays in their storage dtype under ``spec``: new moments
    (``real``: second moments, real for complex parameters).

    Built with ``zeros_like``, so each moment gets its parameter's sharding.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._storage import zeros_for_state
        >>> zeros_for_state({"w": jnp.ones(2)}, "bfloat16")
        {'w': Array([0, 0], dtype=bfloat16)}
    """
    return map_arrays(
        lambda x: jnp.zeros_like(x, dtype=storage_dtype(spec, x, real=real)),
        params,
        names=("params",),
    )


def load(moments: Any, like: Any) -> Any:
    """The stored ``moments`` in the compute dtype of ``like``'s matching arrays.

    ``like`` (the updates) sets the structure; its None leaves (masked out)
    stay None, as do None moments.
    """

    def one(x: Any, m: Any) -> Any:
        if x is None or m is None:
            return m
        dtype = compute_dtype(x.dtype)
        # A second moment stays real for a complex parameter (|g|**2).
        return m.astype(dtype if jnp.iscomplexobj(m) else jnp.finfo(dtype).dtype)

    return jax.tree.map(one, like, moments, is_leaf=is_none)


def _noise16(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform 16-bit noise (uint32 values below 2**16), one draw per element.

    Threefry per element made a 100M-parameter Adam step 20x slower on CPU.
    Here threefry draws two words per leaf, and each element hashes its flat
    index with them (murmur3's finaliser, a bijection that mixes every input
    bit into the upper output bits): a few integer operations that fuse into
    the moment's loop. Rounding needs uniform bits, not cryptographic ones.
    """
    words = jax.random.bits(key, (2,), jnp.uint32)
    size = math.prod(shape)
    h = jax.lax.iota(jnp.uint32, size).reshape(shape) * jnp.uint32(0x9E3779B1) + words[0]
    h = h ^ words[1]
    h = (h ^ (h >> jnp.uint32(16))) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> jnp.uint32(13))) * jnp.uint32(0xC2B2AE35)
    h = h ^ (h >> jnp.uint32(16))
    return h >> jnp.uint32(16)


def _round_stochastically(x: jax.Array, key: jax.Array) -> jax.Array:
    """``x`` (float32) to bfloat16, up or down at random, unbiased."""
    x = x.astype(jnp.float32)
    bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
    # bfloat16 is float32's upper 16 bits: adding uniform noise below them and
    # truncating rounds up with probability (x - lower) / (upper - lower).
    truncated = (bits + _noise16(key, x.shape)) & jnp.uint32(0xFFFF0000)
    rounded = jax.lax.bitcast_convert_type(truncated, jnp.float32)
    # inf and nan keep their own bits (nan's noise could carry into the sign).
    return jnp.where(jnp.isfinite(x), rounded, x).astype(jnp.bfloat16)


def store(moments: Any, spec: StateDType, *, step: jax.Array, salt: int) -> Any:
    """New ``moments`` (in the compute dtype) cast for storage under ``spec``.

    ``salt`` tells an optimiser's moments apart (0 for ``mu``, 1 for ``nu``),
    so that stochastic rounding draws different bits for each.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax._core._storage import StochasticRounding, store
        >>> store({"w": jnp.array([1.0, 2.0])}, "bfloat16", step=jnp.int32(0), salt=0)
        {'w': Array([1, 2], dtype=bfloat16)}
        >>> x = jnp.full(10_000, 1.0 + 2.0**-9)  # a quarter of the way up to 1 + 2**-7
        >>> r = store(x, StochasticRounding(), step=jnp.int32(3), salt=0)
        >>> round(float(r.astype(jnp.float32).mean() - 1.0) * 2**9, 1)
        1.0
    """
    if spec is None:
        return moments
    if not isinstance(spec, StochasticRounding):
        dtype = jnp.dtype(spec)
        return jax.tree.map(
            lambda m: None if m is None else m.astype(dtype), moments, is_leaf=is_none
        )
    leaves, treedef = jax.tree.flatten(moments, is_leaf=is_none)
    base = jax.random.fold_in(jax.random.fold_in(jax.random.key(spec.seed), salt), step)
    rounded = [
        None if m is None else _round_stochastically(m, jax.random.fold_in(base, index))
        for index, m in enumerate(leaves)
    ]
    return jax.tree.unflatten(treedef, rounded)
