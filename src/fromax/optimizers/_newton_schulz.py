"""Newton-Schulz orthogonalisation: the polar factor U V^T of a matrix U S V^T, approximately.

Muon and Scion's spectral LMO replace a matrix by (an approximation of) its
polar factor. The iteration is an odd quintic applied to the singular values:

    X_0 = G / (norm_scale * ||G||_F + eps)
    X_{k+1} = a_k X_k + b_k (X_k X_k^T) X_k + c_k (X_k X_k^T)^2 X_k

run on the wide orientation (rows <= columns; a tall matrix is transposed
and transposed back, which changes the cost, not the result, since the
iteration commutes with transposition).

Coefficients: a preset name, one triple (used for every iteration), or a
sequence of triples (one per iteration). The presets:

- ``"jordan"``: (3.4445, -4.7750, 2.0315) every iteration (Jordan et al.
  2024; torch.optim.Muon's and optax.contrib.muon's default). Fast, not
  exact: singular values end roughly in [0.68, 1.13], not at 1.
- ``"polar_express"``: the 8 per-iteration triples of Amsel, Persson, Musco,
  Gower (arXiv 2505.16932), Algorithm 1, with its safety factor: every triple
  but the last is p(x / 1.01), and G is normalised by 1.01 ||G||_F + eps. With
  fewer than 8 steps the first ``steps`` triples are used; with more, the
  last one (15/8, -10/8, 3/8), whose fixed point is 1, is repeated.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fromax._core._registry import Kind

__all__ = [
    "NS_PRESETS",
    "Coefficients",
    "NewtonSchulzCoefficients",
    "newton_schulz",
    "newton_schulz_coefficients",
]

_JORDAN = ((3.4445, -4.7750, 2.0315),)

# Amsel et al. (arXiv 2505.16932), Algorithm 1, before the safety factor.
_POLAR_EXPRESS_RAW = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)
_SAFETY = 1.01


def _with_safety(triples):
    # p(x) -> p(x / 1.01) for all but the last, so that singular values pushed above 1
    # by rounding are still mapped back below the polynomial's upper bound.
    head = tuple((a / _SAFETY, b / _SAFETY**3, c / _SAFETY**5) for a, b, c in triples[:-1])
    return (*head, triples[-1])


class NewtonSchulzCoefficients(NamedTuple):
    """A Newton-Schulz iteration, resolved: one (a, b, c) per iteration and the normalisation.

    Attributes:
        triples: ``((a, b, c), ...)``, one per iteration.
        norm_scale: X_0 = G / (norm_scale * ||G||_F + eps).

    Example:
        >>> import fromax
        >>> fromax.newton_schulz_coefficients("jordan", 2)
        NewtonSchulzCoefficients(triples=((3.4445, -4.775, 2.0315), (3.4445, -4.775, 2.0315)),
        norm_scale=1.0)
    """

    triples: tuple[tuple[float, float, float], ...]
    norm_scale: float


NS_PRESETS: dict[str, NewtonSchulzCoefficients] = {
    "jordan": NewtonSchulzCoefficients(_JORDAN, 1.0),
    "polar_express": NewtonSchulzCoefficients(_with_safety(_POLAR_EXPRESS_RAW), _SAFETY),
}
"""The named coefficient presets: ``"jordan"`` and ``"polar_express"``."""


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def _as_triples(value: Any, where: str) -> tuple[tuple[float, float, float], ...] | None:
    """A user's triple or sequence of triples as floats; None when it is neither."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        return None
    items = list(value)
    if len(items) == 3 and all(_is_number(x) for x in items):
        items = [items]
    triples = []
    for item in items:
        if isinstance(item, str) or not isinstance(item, Sequence | np.ndarray):
            return None
        triple = list(item)
        if len(triple) != 3 or not all(_is_number(x) for x in triple):
            return None
        if not all(math.isfinite(float(x)) for x in triple):
            raise ValueError(f"{where} must be finite, got {tuple(triple)}")
        triples.append((float(triple[0]), float(triple[1]), float(triple[2])))
    return tuple(triples) if triples else None


def check_coefficients(value: Any, where: str) -> None:
    """Raises ValueError unless ``value`` is a preset name, a triple or a sequence of triples."""
    if isinstance(value, str):
        if value not in NS_PRESETS:
            raise ValueError(
                f"{where} must be one of {', '.join(repr(k) for k in NS_PRESETS)}, a triple "
                f"(a, b, c) or a sequence of triples; got {value!r}"
            )
        return
    if _as_triples(value, where) is None:
        raise ValueError(
            f"{where} must be one of {', '.join(repr(k) for k in NS_PRESETS)}, a triple "
            f"(a, b, c) or a sequence of triples; got {value!r}"
        )


class Coefficients(Kind):
    """The registry's kind for ``ns_coefficients``: a preset name or (sequences of) triples."""

    def check(self, value: Any, where: str) -> None:
        check_coefficients(value, where)

    def parse(self, text: str, where: str) -> Any:
        value = text.strip()
        if value in NS_PRESETS:
            return value
        try:
            numbers_ = [float(x) for x in value.split(",")]
        except ValueError:
            numbers_ = []
        if len(numbers_) != 3:
            raise ValueError(
                f"{where}: expected one of {', '.join(NS_PRESETS)} or three numbers a,b,c; "
                f"got {text!r}"
            )
        return tuple(numbers_)

    def describe(self) -> str:
        return f"{', '.join(repr(k) for k in NS_PRESETS)}, a triple (a, b, c) or one per step"


def newton_schulz_coefficients(
    coefficients: Any = "jordan", steps: int = 5, *, where: str = "ns_coefficients"
) -> NewtonSchulzCoefficients:
    """The per-iteration coefficients of ``steps`` iterations, checked.

    A preset or a single triple is used for every iteration (``"polar_express"``
    uses its own list, repeating its last triple beyond 8 steps); a sequence of
    triples gives its first ``steps`` triples and must have at least ``steps``.

    Args:
        coefficients: a preset name (:data:`NS_PRESETS`), ``(a, b, c)``, or a
            sequence of triples.
        steps: the number of iterations, >= 1.
        where: the argument's name, for messages.

    Returns:
        A :class:`NewtonSchulzCoefficients`.

    Example:
        >>> import fromax
        >>> pe = fromax.newton_schulz_coefficients("polar_express", 10)
        >>> len(pe.triples), pe.triples[-1], pe.norm_scale
        (10, (1.875, -1.25, 0.375), 1.01)
        >>> fromax.newton_schulz_coefficients("cubic", 5)
        Traceback (most recent call last):
        ...
        ValueError: ns_coefficients must be one of 'jordan', 'polar_express', a triple (a, b, c)
        or a sequence of triples; got 'cubic'
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"ns_steps must be an integer >= 1, got {steps!r}")
    check_coefficients(coefficients, where)
    if isinstance(coefficients, str):
        preset = NS_PRESETS[coefficients]
        triples, scale = preset.triples, preset.norm_scale
    else:
        given = _as_triples(coefficients, where)
        assert given is not None
        if len(given) > 1 and len(given) < steps:
            raise ValueError(
                f"{where} gives {len(given)} triples but ns_steps is {steps}: give at least "
                f"ns_steps triples, or lower ns_steps"
            )
        triples, scale = given, 1.0
    if len(triples) == 1:
        return NewtonSchulzCoefficients(triples * steps, scale)
    chosen = triples[:steps] + (triples[-1],) * max(0, steps - len(triples))
    return NewtonSchulzCoefficients(chosen, scale)


_HIGHEST = jax.lax.Precision.HIGHEST


# In bfloat16, each product accumulates in float32 and each line of the iteration
# (X X^T; b A + c A A; a X + B X) is rounded to bfloat16 once, as PyTorch's addmm does:
# a X and B X nearly cancel, and rounding each term first measured 4x the error.


def _wide(dtype: Any) -> np.dtype:
    """float32, or ``dtype`` if wider (without jnp.promote_types, which strict promotion
    refuses for bfloat16 and float32)."""
    return np.dtype(dtype) if jnp.finfo(dtype).bits > 32 else np.dtype(jnp.float32)


def _mm(x: jax.Array, y: jax.Array, precision: Any) -> jax.Array:
    return jnp.matmul(x, y, precision=precision, preferred_element_type=_wide(x.dtype))


def _segments(steps: int) -> list[int]:
    # Restarting the Gram form every 2 iterations (X rebuilt, X X^T taken afresh) keeps
    # float32 errors at the plain chain's level (at most 1.6x, median 0.9-1.0x, against
    # float64 on ill-conditioned inputs); every 3 iterations, Polar Express's large first
    # coefficients made it up to 3x, and without restarts the recurrence for X X^T lost
    # 10-50x.
    return [min(2, steps - i) for i in range(0, steps, 2)]


# A product known to be symmetric (X X^T, R R, and products of polynomials in one
# symmetric matrix, which commute) is computed as its two diagonal blocks and one
# off-diagonal block, mirrored: 3/4 of the flops. Below this size the half-size products
# run less efficiently than they save.
_SYMMETRIC_MIN = 256


def _symmetric_share(m: int) -> float:
    return 0.75 if m >= _SYMMETRIC_MIN and m % 2 == 0 else 1.0


def chain_flops(rows: int, cols: int, steps: int, gram: bool) -> int:
    """Multiply-adds of ``steps`` iterations on a (rows, cols) matrix, plain or Gram form."""
    m, n = min(rows, cols), max(rows, cols)
    s = _symmetric_share(m)
    if not gram:
        return round(steps * ((1 + s) * m * m * n + s * m**3))
    return round(
        sum((1 + s) * m * m * n + s * (4 * length - 3) * m**3 for length in _segments(steps))
    )


def gram_is_cheaper(rows: int, cols: int, steps: int) -> bool:
    """Whether the Gram form needs fewer flops than the plain chain for a (rows, cols) matrix."""
    return chain_flops(rows, cols, steps, True) < chain_flops(rows, cols, steps, False)


def _symmetric(a: jax.Array, b: jax.Array, precision: Any) -> jax.Array:
    """``a @ b`` where the product is known to be symmetric: 3 of its 4 blocks, mirrored."""
    m = a.shape[-2]
    if _symmetric_share(m) == 1.0:
        return _mm(a, b, precision)
    h = m // 2
    a1, a2 = a[..., :h, :], a[..., h:, :]
    upper = _mm(a1, b[..., :, h:], precision)
    top = jnp.concatenate([_mm(a1, b[..., :, :h], precision), upper], axis=-1)
    bottom = jnp.concatenate(
        [jnp.swapaxes(upper, -1, -2), _mm(a2, b[..., :, h:], precision)], axis=-1
    )
    return jnp.concatenate([top, bottom], axis=-2)


def _gram_of(x: jax.Array, precision: Any) -> jax.Array:
    return _symmetric(x, jnp.swapaxes(x, -1, -2), precision)


def _plain_chain(x, triples, precision):
    dtype, wide = x.dtype, _wide(x.dtype)
    for a, b, c in triples:
        gram = _gram_of(x, precision).astype(dtype)
        poly = (b * gram.astype(wide) + c * _symmetric(gram, gram, precision)).astype(dtype)
        x = (a * x.astype(wide) + _mm(poly, x, precision)).astype(dtype)
    return x


def _gram_chain(x, triples, precision):
    """The same iterates, computed on the small side: X_k = Q_k X_0.

    Each step multiplies X by h(R) = a I + b R + c R^2 with R = X X^T, a
    polynomial in X_0 X_0^T; so Q_{k+1} = h(R_k) Q_k and R_{k+1} = h(R_k) R_k
    h(R_k) are (m, m) products (all symmetric), and X is rebuilt once per
    segment. For a wide matrix this needs fewer flops (see :func:`gram_is_cheaper`).
    """
    m = x.shape[-2]
    # Batched explicitly: strict rank promotion refuses (m, m) + (batch, m, m).
    eye = jnp.broadcast_to(jnp.eye(m, dtype=x.dtype), (*x.shape[:-2], m, m))
    start = 0
    for length in _segments(len(triples)):
        r = _gram_of(x, precision)
        q = None
        for k, (a, b, c) in enumerate(triples[start : start + length]):
            h = a * eye + b * r + c * _symmetric(r, r, precision)
            q = h if q is None else _symmetric(h, q, precision)
            if k < length - 1:
                r = _symmetric(h, _symmetric(h, r, precision), precision)
        x = _mm(q, x, precision)
        start += length
    return x


def newton_schulz(
    x: jax.Array,
    steps: int = 5,
    coefficients: Any = "jordan",
    eps: Any = 1e-7,
    *,
    dtype: Any = jnp.float32,
    gram: bool | None = None,
) -> jax.Array:
    """Orthogonalises a matrix, or a batch of matrices (``(..., rows, cols)``), by Newton-Schulz.

    Each matrix G is normalised, ``X_0 = G / (norm_scale * ||G||_F + eps)``,
    oriented so that rows <= cols, and iterated ``steps`` times (see the
    module's docstring); the result has G's shape. A zero matrix gives zeros.
    NaN or Inf anywhere in a matrix gives NaN in all of its result (never a
    finite-looking matrix).

    In float32 the matmuls run at full float32 precision (``Precision.HIGHEST``;
    a GPU would otherwise use TF32). With ``dtype=jnp.bfloat16``, X and every
    product are bfloat16 (as in Jordan's and PyTorch's Muon); the
    normalisation is float32 either way, and the result is float32.

    For wide matrices (cols > 1.3 rows, after orienting) the iteration runs in
    its Gram form unless ``gram=False``: the same iterates, computed with
    (rows, rows) products (:func:`gram_is_cheaper`), restarted every 2
    iterations so that float32 errors stay those of the plain chain. bfloat16
    always runs the plain chain. Products known to be symmetric (X X^T, its
    square, and in the Gram form every (rows, rows) product) are computed as
    3 of their 4 blocks, for 256 rows or more.

    Args:
        x: a matrix, or a stack of them in the last two axes.
        steps: the number of iterations, >= 1.
        coefficients: a preset name, ``(a, b, c)`` or one triple per iteration
            (see :func:`newton_schulz_coefficients`).
        eps: added to the normalising norm, >= 0 (a scalar, may be traced).
        dtype: ``jnp.float32`` (default) or ``jnp.bfloat16``: the matmuls' dtype.
        gram: force the Gram form on (True) or off (False); None chooses by flops.

    Returns:
        float32 (or wider) array of ``x``'s shape.

    Example:
        >>> import jax.numpy as jnp, numpy as np, fromax
        >>> g = jnp.array([[3.0, 0.0], [0.0, 0.5], [0.0, 0.0]])
        >>> o = fromax.newton_schulz(g, steps=10, coefficients="polar_express")
        >>> np.round(np.asarray(o), 4)  # the polar factor of g: its singular values set to 1
        array([[1., 0.],
               [0., 1.],
               [0., 0.]], dtype=float32)

    References:
        Jordan et al., Muon: an optimizer for hidden layers in neural networks
        (2024, kellerjordan.github.io/posts/muon). Amsel, Persson, Musco,
        Gower, The Polar Express: optimal matrix sign methods and their
        application to the Muon algorithm (arXiv 2505.16932).
    """
    resolved = newton_schulz_coefficients(coefficients, steps, where="coefficients")
    return _orthogonalize(x, resolved, eps, np.dtype(dtype), gram)


def _orthogonalize(
    x: jax.Array,
    resolved: NewtonSchulzCoefficients,
    eps: Any,
    dtype: np.dtype,
    gram: bool | None = None,
) -> jax.Array:
    """:func:`newton_schulz` with resolved coefficients."""
    if not hasattr(x, "ndim") or not jnp.issubdtype(x.dtype, jnp.floating):
        found = x.dtype if hasattr(x, "dtype") else type(x).__name__
        raise TypeError(f"newton_schulz needs a real float matrix (..., rows, cols), got {found}")
    if x.ndim < 2:
        raise ValueError(f"newton_schulz needs a matrix (..., rows, cols), got shape {x.shape}")
    work = _wide(x.dtype)
    x = x.astype(work)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = jnp.swapaxes(x, -1, -2)
    squared = jnp.sum(x * x, axis=(-2, -1), keepdims=True)
    norm = jnp.asarray(resolved.norm_scale, work) * jnp.sqrt(squared)
    x = x / (norm + jnp.asarray(eps).astype(work))
    rows, cols = x.shape[-2], x.shape[-1]
    if dtype == np.dtype(jnp.bfloat16):
        x = _plain_chain(x.astype(jnp.bfloat16), resolved.triples, None).astype(work)
    else:
        use_gram = gram_is_cheaper(rows, cols, len(resolved.triples)) if gram is None else gram
        chain = _gram_chain if use_gram else _plain_chain
        x = chain(x, resolved.triples, _HIGHEST)
    return jnp.swapaxes(x, -1, -2) if tall else x


def orthogonalize_many(
    matrices: Sequence[jax.Array],
    resolved: NewtonSchulzCoefficients,
    eps: Any,
    dtype: np.dtype,
) -> list[jax.Array]:
    """:func:`newton_schulz` of each (batch, rows, cols) array, same-shaped ones in one chain.

    Matrices are oriented wide first, so a (768, 3072) kernel and a (3072,
    768) one share a chain; each group is concatenated along the batch axis,
    orthogonalised by one batched chain (a model's 12 layers become one
    batched matmul per product instead of 12), and split again.
    """
    oriented = []
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(matrices):
        tall = x.shape[-2] > x.shape[-1]
        oriented.append(jnp.swapaxes(x, -1, -2) if tall else x)
        groups.setdefault(oriented[-1].shape[-2:], []).append(i)
    out: list[Any] = [None] * len(matrices)
    for members in groups.values():
        parts = [oriented[i] for i in members]
        stacked = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=0)
        result = _orthogonalize(stacked, resolved, eps, dtype)
        offsets = [int(o) for o in np.cumsum([p.shape[0] for p in parts])[:-1]]
        pieces = jnp.split(result, offsets, axis=0) if len(parts) > 1 else [result]
        for i, piece in zip(members, pieces, strict=True):
            tall = matrices[i].shape[-2] > matrices[i].shape[-1]
            out[i] = jnp.swapaxes(piece, -1, -2) if tall else piece
    return out
