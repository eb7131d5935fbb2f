"""Muon: momentum, orthogonalised by Newton-Schulz, for the matrices; AdamW for the rest."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

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
from fromax._core._state_dtypes import MU_DTYPE, NU_DTYPE
from fromax._core._storage import StateDType, load, storage_dtype, store
from fromax._core._transformation import GradientTransformation
from fromax._core._tree import check_same_structure, compute_dtype
from fromax._core._types import Params, PyTree, ScalarOrSchedule
from fromax.optimizers._adam_direction import _direction, _step_scalars
from fromax.optimizers._labels import resolve_labels, where
from fromax.optimizers._matrices import MatrixAxes, MatrixView, default_axes, is_embedding_or_head
from fromax.optimizers._newton_schulz import (
    Coefficients,
    newton_schulz_coefficients,
    orthogonalize_many,
)

__all__ = ["MuonState", "muon", "muon_direction", "muon_labels", "muon_scale"]

_LABELS = ("muon", "adamw")


class MuonState(NamedTuple):
    """Muon's own state.

    Attributes:
        momentum: a pytree like the parameters: the float32 (or wider)
            momentum of each leaf Muon updates, None on the others.
        mu, nu: AdamW's moments of each other leaf, None on Muon's.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> state = fromax.muon(0.02).init({"w": jnp.ones((3, 4)), "b": jnp.zeros(4)})
        >>> state.inner.momentum["w"].shape, state.inner.momentum["b"], state.inner.mu["b"].shape
        ((3, 4), None, (4,))
    """

    momentum: Any
    mu: Any
    nu: Any


def muon_labels(params: Params) -> PyTree:
    """The labels Muon gives by default: ``"muon"`` or ``"adamw"`` for each leaf.

    ``"muon"`` for a leaf of rank 2 (a dense kernel, (fan_in, fan_out)) or
    rank 4 or 5 (a convolution kernel, (*spatial, in, out)), unless its path
    names an embedding or an output head (a key containing ``embed``, or
    ``wte``, ``wpe``, ``head``, ``*_head``): those, and every leaf of rank 0,
    1 or 3, get ``"adamw"``, as in every published Muon recipe. Start from
    this to label a model's leaves yourself.

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> params = {"embed": jnp.ones((100, 8)), "w": jnp.ones((8, 8)), "b": jnp.ones(8),
        ...           "conv": jnp.ones((3, 3, 4, 8)), "lm_head": jnp.ones((8, 100))}
        >>> fromax.muon_labels(params)
        {'b': 'adamw', 'conv': 'muon', 'embed': 'adamw', 'lm_head': 'adamw', 'w': 'muon'}
    """

    def label(path: tuple[Any, ...], leaf: Any) -> Any:
        if leaf is None:
            return None
        if is_embedding_or_head(path) or default_axes(np.shape(leaf)) is None:
            return "adamw"
        return "muon"

    return jax.tree_util.tree_map_with_path(label, params, is_leaf=lambda x: x is None)


def _check_labels(value: Any, where_: str) -> None:
    if value is None or callable(value):
        return
    for leaf in jax.tree.leaves(value):
        if not (isinstance(leaf, MatrixAxes) or (isinstance(leaf, str) and leaf in _LABELS)):
            raise ValueError(
                f"{where_} must be a pytree of 'muon', 'adamw' or fromax.MatrixAxes(...) "
                f"leaves (or a callable params -> such a pytree), got a leaf {leaf!r}"
            )


def _views(labels: Any, params: Any) -> list[MatrixView | None]:
    """Each array leaf's matrix view (Muon) or None (AdamW), checked against its shape."""
    views: list[MatrixView | None] = []
    for path, leaf, label in resolve_labels(labels, params, muon_labels, "muon"):
        shape = tuple(np.shape(leaf))
        if isinstance(label, MatrixAxes):
            views.append(label.view(shape, where("muon", path)))
        elif label == "muon":
            axes = default_axes(shape)
            if axes is None:
                raise ValueError(
                    f"{where('muon', path)}: a leaf of shape {shape} is forced to Muon but is not "
                    f"a matrix and has no flattening rule (rank 2: (in, out); rank 4 or 5: a "
                    f"convolution kernel (..., in, out)); label it 'adamw' or give "
                    f"fromax.MatrixAxes(reduction=..., output=...)"
                )
            views.append(axes.view(shape, where("muon", path)))
        elif label == "adamw":
            views.append(None)
        else:
            raise ValueError(
                f"{where('muon', path)} must be 'muon', 'adamw' or fromax.MatrixAxes(...), "
                f"got {label!r}"
            )
    return views


def muon_scale(fan_in: int, fan_out: int, rule: str | None = "spectral") -> float:
    """The factor s of Muon's step ``-eta * s * O`` for a (fan_in, fan_out) matrix.

    - ``"spectral"``: sqrt(max(1, fan_out / fan_in)) (Jordan; torch's
      ``"original"``, optax's default), so that ``s * O`` has spectral norm
      about sqrt(fan_out / fan_in) where that exceeds 1;
    - ``"match_adamw"``: 0.2 sqrt(max(fan_in, fan_out)) (Liu et al.,
      Moonlight), so that the update's RMS is about AdamW's (0.2) and AdamW's
      learning rate and weight decay carry over;
    - None: 1.

    Example:
        >>> import fromax
        >>> fromax.muon_scale(768, 3072), fromax.muon_scale(3072, 768), fromax.muon_scale(
        ...     768, 3072, "match_adamw")
        (2.0, 1.0, 11.08513...)
    """
    if rule is None:
        return 1.0
    if rule == "spectral":
        return math.sqrt(max(1.0, fan_out / fan_in))
    if rule == "match_adamw":
        return 0.2 * math.sqrt(max(fan_in, fan_out))
    raise ValueError(f"muon's scale must be 'spectral', 'match_adamw' or None, got {rule!r}")


def muon_direction(
    grad: jax.Array, momentum: jax.Array, beta: jax.Array, nesterov: bool = True
) -> tuple[jax.Array, jax.Array]:
    """Muon's momentum for one array: the matrix to orthogonalise and the new momentum.

    With beta the momentum coefficient::

        m <- beta m + (1 - beta) g
        u = (1 - beta) g + beta m       (nesterov=True)    or    u = m

    the average form of PyTorch's ``torch.optim.Muon`` and Jordan's code
    (PyTorch's docstring writes ``beta m + g``; its code does this). Computed
    in ``momentum``'s dtype (float32 or wider).

    Example:
        >>> import jax.numpy as jnp, fromax
        >>> u, m = fromax.muon_direction(jnp.ones(2), jnp.zeros(2), jnp.float32(0.5))
        >>> u, m
        (Array([0.75, 0.75], dtype=float32), Array([0.5, 0.5], dtype=float32))
    """
    dtype = momentum.dtype
    b = jnp.asarray(beta).astype(dtype)
    g = grad.astype(dtype)
    new = b * momentum + (1 - b) * g
    return ((1 - b) * g + b * new if nesterov else new), new


@declare(
    Hyperparameter("learning_rate", Number(NONNEGATIVE), "eta, the matrices' step size"),
    Hyperparameter("momentum", Number(DECAY_RATE), "beta, the momentum's decay"),
    Hyperparameter("weight_decay", Number(NONNEGATIVE), "lambda, decoupled, on the matrices"),
    Hyperparameter("eps", Number(NONNEGATIVE), "added to ||u||_F before Newton-Schulz"),
    Hyperparameter(
        "adam_learning_rate",
        Number(NONNEGATIVE),
        "AdamW's step size on the other leaves; None: the learning rate's value",
        optional=True,
    ),
    Hyperparameter("adam_b1", Number(DECAY_RATE), "AdamW's first moment's decay"),
    Hyperparameter("adam_b2", Number(DECAY_RATE), "AdamW's second moment's decay"),
    Hyperparameter("adam_eps", Number(NONNEGATIVE), "AdamW's epsilon"),
    Hyperparameter("adam_weight_decay", Number(NONNEGATIVE), "AdamW's decoupled weight decay"),
    Hyperparameter("nesterov", Flag(), "Nesterov's look-ahead on the momentum"),
    Hyperparameter("ns_steps", Integer(minimum=1), "Newton-Schulz iterations"),
    Hyperparameter("ns_coefficients", Coefficients(), "Newton-Schulz coefficients"),
    Hyperparameter(
        "scale",
        Choice(("spectral", "match_adamw")),
        "the step's factor per matrix; None: 1",
        optional=True,
    ),
    Hyperparameter(
        "labels",
        Tree("None, a pytree or callable of 'muon', 'adamw', MatrixAxes", _check_labels),
        "which leaves are Muon's matrices",
        optional=True,
    ),
    Hyperparameter("ns_dtype", Choice(("float32", "bfloat16")), "Newton-Schulz matmuls' dtype"),
    dataclasses.replace(MU_DTYPE, doc="the momentum's and Adam's first moment's storage dtype"),
    dataclasses.replace(NU_DTYPE, doc="Adam's second moment's storage dtype"),
    summary="Muon: momentum orthogonalised by Newton-Schulz on matrices, AdamW elsewhere",
    role="optimizer",
)
def muon(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule = 0.95,
    weight_decay: ScalarOrSchedule = 0.0,
    eps: ScalarOrSchedule = 1e-7,
    adam_learning_rate: ScalarOrSchedule | None = None,
    adam_b1: ScalarOrSchedule = 0.9,
    adam_b2: ScalarOrSchedule = 0.999,
    adam_eps: ScalarOrSchedule = 1e-8,
    adam_weight_decay: ScalarOrSchedule = 0.0,
    *,
    nesterov: bool = True,
    ns_steps: int = 5,
    ns_coefficients: Any = "jordan",
    scale: str | None = "spectral",
    labels: Any = None,
    ns_dtype: str = "float32",
    mu_dtype: StateDType = None,
    nu_dtype: StateDType = None,
) -> GradientTransformation:
    """Muon, every hyperparameter schedulable; AdamW for the leaves that are not matrices.

    For each matrix W (JAX layout (fan_in, fan_out)) with gradient g, with
    values at step t::

        m <- beta m + (1 - beta) g
        u = (1 - beta) g + beta m                  (nesterov; else u = m)
        O = NewtonSchulz(u)                        (see fromax.newton_schulz)
        W <- W (1 - eta lambda) - eta s O          (s: see fromax.muon_scale)

    and every other leaf takes an AdamW step (:func:`~fromax.adamw`'s maths,
    with ``adam_*`` hyperparameters; ``adam_learning_rate=None`` follows
    ``learning_rate``).

    Which leaves are matrices (``labels``): by default those of rank 2 and
    the convolution kernels of rank 4 and 5, flattened to (prod(spatial) *
    in, out), but not embeddings and output heads, which AdamW updates as in
    every published recipe (:func:`~fromax.muon_labels` says which by key
    names). Override with a pytree (or callable ``params -> pytree``) of
    ``"muon"``, ``"adamw"`` or :class:`~fromax.MatrixAxes` (a stack of
    matrices, a ``DenseGeneral`` kernel); a leaf forced to ``"muon"`` that has
    no flattening rule, or a ``MatrixAxes`` that does not fit its leaf, is
    refused with the leaf's path.

    Conventions, against the peers:

    - momentum: PyTorch's and Jordan's average form with Nesterov; optax's
      ``contrib.muon`` adds Adam's bias correction, so its steps from the
      second on differ unless ``nesterov=False`` (then its direction is a
      multiple of ours, and Newton-Schulz removes the multiple). Moonlight
      writes ``beta m + g``, which is the same after Newton-Schulz while beta
      is constant, not under a momentum schedule.
    - eps: ``u / (||u||_F + eps)`` as Jordan and optax (PyTorch clamps:
      ``max(||u||_F, eps)``); the same for any gradient not near zero.
    - Newton-Schulz in float32 by default (optax too), ``ns_dtype="bfloat16"``
      as PyTorch always does. Same-shaped matrices (after orienting them wide)
      are orthogonalised in one batched chain, in the Gram form where that
      needs fewer flops, symmetric products as 3 of their 4 blocks.
    - weight decay: decoupled, multiplied by the raw learning rate, as
      PyTorch and optax; default 0 (optax, Jordan; PyTorch's is 0.1).
    - NaN or Inf in a matrix's momentum makes that matrix's update all NaN,
      never a finite-looking step. A NaN gradient would stay in the momentum
      for ever: wrap Muon in :func:`~fromax.skip_nonfinite`, which skips a
      step whose gradients are not finite before it reaches the momentum.

    Args:
        learning_rate: eta, >= 0.
        momentum: beta, in [0, 1).
        weight_decay: lambda, >= 0, on Muon's matrices.
        eps: added to the Frobenius norm before Newton-Schulz, >= 0.
        adam_learning_rate: AdamW's eta, >= 0, or None: ``learning_rate``.
        adam_b1, adam_b2: AdamW's decays, in [0, 1).
        adam_eps: AdamW's epsilon, >= 0.
        adam_weight_decay: AdamW's decoupled weight decay, >= 0.
        nesterov: Nesterov's look-ahead (default on, as PyTorch and optax).
        ns_steps: Newton-Schulz iterations, >= 1.
        ns_coefficients: ``"jordan"``, ``"polar_express"``, a triple (a, b, c)
            or one triple per iteration (at least ``ns_steps`` of them).
        scale: ``"spectral"``, ``"match_adamw"`` or None (see
            :func:`~fromax.muon_scale`).
        labels: which leaves are matrices (see above).
        ns_dtype: ``"float32"`` or ``"bfloat16"``: the Newton-Schulz matmuls.
        mu_dtype: the storage dtype of the momentum (and of the first moment of
            the leaves AdamW steps): None (float32, or the parameters' dtype if
            wider), a float dtype or its name, or
            :class:`~fromax.StochasticRounding`; the maths stays in float32.
        nu_dtype: the storage dtype of AdamW's second moment, likewise.

    Returns:
        A :class:`~fromax.GradientTransformation`. ``update`` needs ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, fromax
        >>> from fromax import schedules
        >>> opt = fromax.muon(schedules.warmup_cosine_decay(0.0, 0.02, 10, 100),
        ...                   momentum=schedules.linear(0.85, 0.95, 30), weight_decay=0.1)
        >>> params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
        >>> state = opt.init(params)
        >>> grads = {"w": jnp.eye(4, 3), "b": jnp.ones(3)}
        >>> for _ in range(2):
        ...     updates, state = opt.update(grads, state, params)
        ...     params = fromax.apply_updates(params, updates)
        >>> sorted(fromax.hyperparams(state))[:4]
        ['adam_b1', 'adam_b2', 'adam_eps', 'adam_weight_decay']

    References:
        Jordan et al., Muon: an optimizer for hidden layers in neural networks
        (2024, kellerjordan.github.io/posts/muon). Liu et al., Muon is scalable
        for LLM training (arXiv 2502.16982).
    """
    resolved = newton_schulz_coefficients(ns_coefficients, ns_steps)
    dtype = np.dtype(jnp.bfloat16) if ns_dtype == "bfloat16" else np.dtype(jnp.float32)

    def init(params: Any) -> MuonState:
        views = _views(labels, params)
        leaves, treedef = jax.tree.flatten(params, is_leaf=lambda x: x is None)
        arrays = [x for x in leaves if x is not None]
        momentum, mu, nu = [], [], []
        for x, view in zip(arrays, views, strict=True):
            first = jnp.zeros_like(x, dtype=storage_dtype(mu_dtype, x))
            momentum.append(first if view is not None else None)
            mu.append(None if view is not None else first)
            nu.append(None if view is not None else jnp.zeros_like(x, storage_dtype(nu_dtype, x)))
        return MuonState(*(_unflatten(treedef, leaves, part) for part in (momentum, mu, nu)))

    def update(updates, state, params, hyper, step):
        check_same_structure(
            (updates, params, state.momentum, state.mu, state.nu),
            ("updates", "params", "state.momentum", "state.mu", "state.nu"),
            shaped=2,
        )
        views = _views(labels, params)
        none = lambda x: x is None  # noqa: E731
        leaves, treedef = jax.tree.flatten(updates, is_leaf=none)
        grads = [g for g in leaves if g is not None]
        ws = [w for w in jax.tree.leaves(params, is_leaf=none) if w is not None]
        ms, mus, nus = (
            [v for v, g in zip(treedef.flatten_up_to(tree), leaves, strict=True) if g is not None]
            for tree in (load(t, updates) for t in (state.momentum, state.mu, state.nu))
        )
        # The step's scalars, once for all leaves.
        minus_lr = -hyper["learning_rate"]
        decay = minus_lr * hyper["weight_decay"]
        adam_lr = hyper.get("adam_learning_rate", hyper["learning_rate"])
        adam_decay = hyper["adam_weight_decay"]
        adam = _step_scalars(
            hyper["adam_b1"], hyper["adam_b2"], hyper["adam_eps"], 0.0, step, False
        )

        new_updates: list[Any] = [None] * len(grads)
        new_m, new_mu, new_nu = list(ms), list(mus), list(nus)
        matrices, owners = [], []
        for i, (g, m, view) in enumerate(zip(grads, ms, views, strict=True)):
            if view is None:
                continue
            u, new_m[i] = muon_direction(g, m, hyper["momentum"], nesterov)
            matrices.append(view.to_matrices(u))
            owners.append(i)
        orthogonal = orthogonalize_many(matrices, resolved, hyper["eps"], dtype)
        for i, o in zip(owners, orthogonal, strict=True):
            view, w = views[i], ws[i]
            work = compute_dtype(w.dtype)
            s = muon_scale(view.fan_in, view.fan_out, scale)
            o = view.from_matrices(o).astype(work)
            step_ = (minus_lr * s).astype(work) * o + decay.astype(work) * w.astype(work)
            new_updates[i] = step_.astype(grads[i].dtype)
        for i, (g, w, view) in enumerate(zip(grads, ws, views, strict=True)):
            if view is not None:
                continue
            d, new_mu[i], new_nu[i] = _direction(g, mus[i], nus[i], adam)
            work = d.dtype
            d = d + adam_decay.astype(work) * w.astype(work)
            new_updates[i] = ((-adam_lr).astype(work) * d).astype(g.dtype)
        stored = (
            store(_unflatten(treedef, leaves, part), dtype, step=step, salt=salt)
            for part, dtype, salt in (
                (new_m, mu_dtype, 2),
                (new_mu, mu_dtype, 0),
                (new_nu, nu_dtype, 1),
            )
        )
        return _unflatten(treedef, leaves, new_updates), MuonState(*stored)

    return scheduled_transformation(
        "muon",
        schedulable(
            "muon",
            learning_rate=learning_rate,
            momentum=momentum,
            weight_decay=weight_decay,
            eps=eps,
            adam_learning_rate=adam_learning_rate,
            adam_b1=adam_b1,
            adam_b2=adam_b2,
            adam_eps=adam_eps,
            adam_weight_decay=adam_weight_decay,
        ),
        init,
        update,
        needs_params=True,
        complex_refused="Newton-Schulz orthogonalisation is defined here for real matrices only",
    )


def _unflatten(treedef: Any, leaves: list[Any], values: list[Any]) -> Any:
    """``values`` (one per non-None leaf) put back in the places of ``leaves``' arrays."""
    it = iter(values)
    return jax.tree.unflatten(treedef, [None if x is None else next(it) for x in leaves])
