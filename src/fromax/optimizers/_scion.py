"""Scion: steepest descent with one norm per layer (Pethick et al., ICML 2025)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._bounds import DECAY_RATE, NONNEGATIVE
from fromax._core._hyperparams import scheduled_transformation
from fromax._core._registry import (
    Choice,
    Flag,
    Hyperparameter,
    Integer,
    Number,
    Tree,
    declare,
    schedulable,
)
from fromax._core._state_dtypes import MU_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import check_same_structure, compute_dtype
from fromax._core._types import Params, PyTree, ScalarOrSchedule
from fromax.optimizers._labels import resolve_labels, where
from fromax.optimizers._matrices import MatrixAxes, MatrixView, default_axes, is_embedding, is_head
from fromax.optimizers._newton_schulz import (
    Coefficients,
    _orthogonalize,
    newton_schulz_coefficients,
    orthogonalize_many,
)

__all__ = ["SCION_NORMS", "ScionLayer", "ScionState", "scion", "scion_labels", "scion_lmo"]

SCION_NORMS = ("spectral", "sign", "colnorm", "rownorm", "rms", "frobenius")
"""The norms whose linear minimisation oracle Scion knows."""

# Norms that read a leaf as (fan_in, fan_out) matrices.
_MATRIX_NORMS = ("spectral", "sign", "colnorm", "rownorm")


@dataclasses.dataclass(frozen=True)
class ScionLayer:
    """One leaf's norm for Scion, with its radius relative to Scion's ``radius``.

    Attributes:
        norm: one of :data:`SCION_NORMS`.
        radius: this leaf's radius as a multiple of Scion's (schedulable)
            ``radius``, > 0; static. The paper's nanoGPT runs use 60 for the
            output head's sign norm with radius 50 for the hidden layers.
        axes: for the matrix norms, which axes are the matrix's (None: rank 2
            as (in, out), rank 4 or 5 as a convolution kernel).

    Example:
        >>> import fromax
        >>> fromax.ScionLayer("sign", radius=60.0)
        ScionLayer(norm='sign', radius=60.0, axes=None)
    """

    norm: str
    radius: float = 1.0
    axes: MatrixAxes | None = None

    def __post_init__(self) -> None:
        if self.norm not in SCION_NORMS:
            raise ValueError(
                f"ScionLayer's norm must be one of {', '.join(map(repr, SCION_NORMS))}, "
                f"got {self.norm!r}"
            )
        if not (isinstance(self.radius, int | float) and math.isfinite(self.radius)) or not (
            self.radius > 0
        ):
            raise ValueError(
                f"ScionLayer's radius must be a finite number > 0, got {self.radius!r}"
            )


class ScionState(NamedTuple):
    """Scion's own state.

    Attributes:
        direction: the averaged gradient d of every leaf, float32 (or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.scion(0.01).init({"w": jnp.ones((3, 4))})
        >>> state.inner.direction["w"].dtype
        dtype('float32')
    """

    direction: Any


def scion_labels(params: Params) -> PyTree:
    """The norms Scion gives by default, one per leaf.

    ``"colnorm"`` for an embedding and ``"sign"`` for an output head (by key
    names, as :func:`~fromax.muon_labels`), ``"spectral"`` for other leaves of
    rank 2, 4 or 5 (dense and convolution kernels), ``"rms"`` for the rest
    (biases, gains, and rank-3 leaves, whose layout fromax cannot guess):
    the paper's choices for a transformer.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> fromax.scion_labels({"wte": jnp.ones((50, 8)), "w": jnp.ones((8, 8)),
        ...                      "b": jnp.ones(8), "lm_head": jnp.ones((8, 50))})
        {'b': 'rms', 'lm_head': 'sign', 'w': 'spectral', 'wte': 'colnorm'}
    """

    def label(path: tuple[Any, ...], leaf: Any) -> Any:
        if leaf is None:
            return None
        if is_head(path):
            return "sign"
        if is_embedding(path):
            return "colnorm"
        return "spectral" if default_axes(np.shape(leaf)) is not None else "rms"

    return jax.tree_util.tree_map_with_path(label, params, is_leaf=lambda x: x is None)


def _layer(label: Any, where_: str) -> ScionLayer:
    if isinstance(label, ScionLayer):
        return label
    if isinstance(label, str) and label in SCION_NORMS:
        return ScionLayer(label)
    raise ValueError(
        f"{where_} must be one of {', '.join(map(repr, SCION_NORMS))} or a fromax.ScionLayer, "
        f"got {label!r}"
    )


def _check_labels(value: Any, where_: str) -> None:
    if value is None or callable(value):
        return
    for leaf in jax.tree.leaves(value):
        _layer(leaf, where_)


def _view(layer: ScionLayer, shape: tuple[int, ...], where_: str) -> MatrixView | None:
    """The matrix view a matrix norm needs; None for the whole-tensor norms and vectors' sign."""
    if layer.norm not in _MATRIX_NORMS or (layer.norm == "sign" and len(shape) <= 1):
        return None
    axes = layer.axes if layer.axes is not None else default_axes(shape)
    if axes is None:
        raise ValueError(
            f"{where_}: a leaf of shape {shape} has norm {layer.norm!r}, which needs a matrix, "
            f"and has no flattening rule (rank 2: (in, out); rank 4 or 5: a convolution kernel "
            f"(..., in, out)); give fromax.ScionLayer({layer.norm!r}, axes=fromax.MatrixAxes(...)) "
            f"or a norm of the whole tensor ('rms', 'frobenius')"
        )
    return axes.view(shape, where_)


def _lmo(norm: str, d: jax.Array, view: MatrixView | None, eps: jax.Array, orthogonal=None):
    """The LMO of ``norm`` at d (``orthogonal``: Newton-Schulz of d's matrices, for spectral)."""
    if norm == "sign":
        return jnp.sign(d) if view is None else jnp.sign(d) / view.fan_in
    if norm == "rms":
        return d / (jnp.sqrt(jnp.mean(d * d)) + eps)
    if norm == "frobenius":
        return d / (jnp.sqrt(jnp.sum(d * d)) + eps)
    # The matrix norms: _view gave each of them a view.
    view = cast(MatrixView, view)
    if norm == "spectral":
        o = view.from_matrices(orthogonal).astype(d.dtype)
        return o * math.sqrt(view.fan_out / view.fan_in)
    if norm in ("colnorm", "rownorm"):
        y = view.to_matrices(d)
        # colnorm: each input unit's row to RMS 1 over the outputs (an embedding's
        # token vectors); rownorm: each output unit's column to norm 1 / sqrt(fan_in).
        axis = -1 if norm == "colnorm" else -2
        norms = jnp.sqrt(jnp.sum(y * y, axis=axis, keepdims=True))
        size = view.fan_out if norm == "colnorm" else view.fan_in
        factor = 1 / math.sqrt(size) if norm == "colnorm" else math.sqrt(size)
        return view.from_matrices(y / (norms * factor + eps))
    raise ValueError(f"norm must be one of {SCION_NORMS}, got {norm!r}")


def scion_lmo(
    direction: jax.Array,
    norm: str,
    eps: Any = 1e-8,
    *,
    axes: MatrixAxes | None = None,
    ns_steps: int = 5,
    ns_coefficients: Any = "jordan",
) -> jax.Array:
    """The linear minimisation oracle of one leaf: the unit-ball point Scion's step subtracts.

    For d in JAX's (fan_in, fan_out) layout, ``lmo(d)`` maximises <d, x> over
    the unit ball of ``norm`` (the paper's LMO, whose sign is the step's)::

        spectral:   sqrt(fan_out / fan_in) NewtonSchulz(d)
        sign:       sign(d) / fan_in             (sign(d) for a vector)
        colnorm:    each row (an input unit, an embedding's token) to RMS 1:
                    d_i / (||d_i|| / sqrt(fan_out) + eps)
        rownorm:    each column (an output unit) to norm 1 / sqrt(fan_in):
                    d_j / (sqrt(fan_in) ||d_j|| + eps)
        rms:        d / (RMS(d) + eps)          (biases, gains)
        frobenius:  d / (||d||_F + eps)

    The paper writes the layout of PyTorch, (fan_out, fan_in): its ColNorm
    normalises the columns of that, which are the rows here, and so on. Newton-Schulz
    is that of :func:`~fromax.newton_schulz`, with eps added to the norm.

    Args:
        direction: d, any float dtype (the maths in float32 or wider).
        norm: one of :data:`SCION_NORMS`.
        eps: >= 0.
        axes: the matrix's axes for the matrix norms (None: fromax's rule).
        ns_steps, ns_coefficients: Newton-Schulz's, for ``"spectral"``.

    Returns:
        lmo(d), float32 (or wider), d's shape.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> d = jnp.array([[3.0, -4.0], [0.0, 1.0]])
        >>> fromax.scion_lmo(d, "sign")
        Array([[ 0.5, -0.5],
               [ 0. ,  0.5]], dtype=float32)
        >>> fromax.scion_lmo(d, "colnorm", eps=0.0)  # rows of RMS 1
        Array([[ 0.84852815, -1.1313709 ],
               [ 0.        ,  1.4142135 ]], dtype=float32)
    """
    layer = ScionLayer(norm, 1.0, axes)
    d = jnp.asarray(direction)
    d = d.astype(compute_dtype(d.dtype))
    view = _view(layer, tuple(d.shape), "scion_lmo's direction")
    eps = jnp.asarray(eps).astype(d.dtype)
    orthogonal = None
    if norm == "spectral":
        resolved = newton_schulz_coefficients(ns_coefficients, ns_steps)
        matrices = cast(MatrixView, view).to_matrices(d)
        orthogonal = _orthogonalize(matrices, resolved, eps, np.dtype(jnp.float32))
    return _lmo(norm, d, view, eps, orthogonal)


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the step (<= 1 when constrained)"),
    Hyperparameter(
        "momentum", Number(DECAY_RATE), "beta, the average's decay (the paper's 1 - alpha)"
    ),
    Hyperparameter("radius", Number(NONNEGATIVE), "rho, the norm ball's radius"),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to the norms the LMOs divide by"),
    Hyperparameter("unconstrained", Flag(), "uSCG (no shrink) instead of SCG's (1 - eta) W"),
    Hyperparameter(
        "labels",
        Tree("None, a pytree or callable of norm names or ScionLayer", _check_labels),
        "each leaf's norm",
        optional=True,
    ),
    Hyperparameter("ns_steps", Integer(minimum=1), "Newton-Schulz iterations"),
    Hyperparameter("ns_coefficients", Coefficients(), "Newton-Schulz coefficients"),
    Hyperparameter("ns_dtype", Choice(("float32", "bfloat16")), "Newton-Schulz matmuls' dtype"),
    dataclasses.replace(MU_DTYPE, doc="the averaged direction's storage dtype"),
    summary="Scion: a norm per layer, steepest descent by its LMO (spectral, sign, ...)",
    role="optimizer",
)
def scion(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule = 0.9,
    radius: ScalarOrSchedule = 1.0,
    eps: ScalarOrSchedule = 1e-8,
    *,
    unconstrained: bool = False,
    labels: Any = None,
    ns_steps: int = 5,
    ns_coefficients: Any = "jordan",
    ns_dtype: str = "float32",
    mu_dtype: StateDType = None,
) -> GradientTransformation:
    """Scion (stochastic conditional gradient), every hyperparameter schedulable.

    For each leaf W with gradient g, its norm's LMO (:func:`~fromax.scion_lmo`)
    and radius rho_W = radius_t * (the leaf's ``ScionLayer.radius``)::

        d <- beta d + (1 - beta) g                  (d_0 = 0)
        W <- (1 - eta) W - eta rho_W lmo(d)         (SCG, the default)
        W <-           W - eta rho_W lmo(d)         (unconstrained=True: uSCG)

    The constrained step is a convex combination (for eta <= 1), so a W
    inside the ball of radius rho_W stays inside it. It is Muon's step (with
    ``nesterov=False``) with weight decay 1 / rho and learning rate eta * rho,
    where both use the spectral norm of a matrix with fan_out >= fan_in.

    Norms (``labels``): by default :func:`~fromax.scion_labels` (spectral
    for hidden matrices, sign for the output head, colnorm for embeddings,
    RMS for biases and gains); override with a pytree (or callable ``params
    -> pytree``) of norm names or :class:`~fromax.ScionLayer`, which also
    gives a leaf its relative radius (the paper: 50 for hidden layers, 3000
    for the head, is ``radius=50`` and ``ScionLayer("sign", 60)``).

    Conventions: ``momentum`` is the usual coefficient, the paper's
    ``1 - alpha`` (its default alpha = 0.1 is momentum = 0.9). The spectral
    LMO's scale is sqrt(fan_out / fan_in) with fan_in = prod(spatial) * in for
    a convolution kernel (the paper's code divides by the kernel's area
    instead). Newton-Schulz runs in float32 by default (the paper's code:
    bfloat16, ``ns_dtype="bfloat16"``).

    Fromage is the family's Frobenius member with a relative radius and its
    own shrink: ``W <- (W - eta ||W|| lmo_F(g)) / sqrt(1 + eta**2)`` (tested
    against :func:`~fromax.fromage`).

    Args:
        learning_rate: eta, >= 0 (<= 1 for the constrained variant).
        momentum: beta, in [0, 1).
        radius: rho, >= 0.
        eps: >= 0, added to the norms the LMOs divide by.
        unconstrained: uSCG instead of SCG.
        labels: each leaf's norm (see above).
        ns_steps, ns_coefficients, ns_dtype: Newton-Schulz's (see
            :func:`~fromax.muon`).
        mu_dtype: the averaged direction d's storage dtype: None (float32, or
            the parameters' dtype if wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> opt = fromax.scion(schedules.cosine_decay(0.1, 100), radius=3.0,
        ...                    labels={"w": "spectral", "b": "rms"})
        >>> params = {"w": jnp.zeros((4, 8)), "b": jnp.zeros(8)}
        >>> state = opt.init(params)
        >>> for _ in range(50):
        ...     grads = {"w": jnp.eye(4, 8), "b": jnp.ones(8)}
        ...     updates, state = opt.update(grads, state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> bool(jnp.linalg.norm(params["w"], 2) <= 3.0 * (8 / 4) ** 0.5)  # inside the ball
        True

    References:
        Pethick, Xie, Erdogan, Patel, Cevher et al., Training deep learning
        models with norm-constrained LMOs, ICML 2025 (arXiv 2502.07529).
    """
    resolved = newton_schulz_coefficients(ns_coefficients, ns_steps)
    dtype = np.dtype(jnp.bfloat16) if ns_dtype == "bfloat16" else np.dtype(jnp.float32)

    def layers(params: Any) -> list[tuple[ScionLayer, MatrixView | None]]:
        out = []
        for path, leaf, label in resolve_labels(labels, params, scion_labels, "scion"):
            layer = _layer(label, where("scion", path))
            out.append((layer, _view(layer, tuple(np.shape(leaf)), where("scion", path))))
        return out

    def init(params: Any) -> ScionState:
        layers(params)  # refuse bad labels now, not at the first step
        return ScionState(
            jax.tree.map(lambda x: jnp.zeros_like(x, dtype=storage_dtype(mu_dtype, x)), params)
        )

    def update(updates, state, params, hyper, step):
        check_same_structure(
            (updates, params, state.direction), ("updates", "params", "state.direction"), shaped=3
        )
        chosen = layers(params)
        none = lambda x: x is None  # noqa: E731
        leaves, treedef = jax.tree.flatten(updates, is_leaf=none)
        grads = [g for g in leaves if g is not None]
        ws = [w for w in jax.tree.leaves(params, is_leaf=none) if w is not None]
        stored = load(state.direction, updates)
        ds = [d for d in jax.tree.leaves(stored, is_leaf=none) if d is not None]
        beta, eps = hyper["momentum"], hyper["eps"]
        minus_lr = -hyper["learning_rate"]
        minus_step = minus_lr * hyper["radius"]
        new_d = [
            beta.astype(d.dtype) * d + (1 - beta).astype(d.dtype) * g.astype(d.dtype)
            for g, d in zip(grads, ds, strict=True)
        ]
        spectral = [i for i, (layer, _) in enumerate(chosen) if layer.norm == "spectral"]
        matrices = [chosen[i][1].to_matrices(new_d[i]) for i in spectral]
        done = orthogonalize_many(matrices, resolved, eps, dtype)
        orthogonal = dict(zip(spectral, done, strict=True))
        new_updates = []
        for i, ((layer, view), w, d) in enumerate(zip(chosen, ws, new_d, strict=True)):
            work = d.dtype
            direction = _lmo(layer.norm, d, view, eps.astype(work), orthogonal.get(i))
            u = (minus_step * layer.radius).astype(work) * direction
            if not unconstrained:
                u = u + minus_lr.astype(work) * w.astype(work)
            new_updates.append(u.astype(grads[i].dtype))
        it_u, it_d = iter(new_updates), iter(new_d)
        rebuilt_u = [None if x is None else next(it_u) for x in leaves]
        rebuilt_d = [None if x is None else next(it_d) for x in leaves]
        return jax.tree.unflatten(treedef, rebuilt_u), ScionState(
            store(jax.tree.unflatten(treedef, rebuilt_d), mu_dtype, step=step, salt=0)
        )

    return scheduled_transformation(
        "scion",
        schedulable(
            "scion", learning_rate=learning_rate, momentum=momentum, radius=radius, eps=eps
        ),
        init,
        update,
        needs_params=True,
        complex_refused=(
            "its norms' directions (sign, Newton-Schulz) are defined for real arrays only"
        ),
    )
