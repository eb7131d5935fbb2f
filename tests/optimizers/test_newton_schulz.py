"""Newton-Schulz: the iteration as defined, its orthogonality against a float64 SVD, presets."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
import reference_muon as ref
from fromax.optimizers._newton_schulz import chain_flops, gram_is_cheaper, orthogonalize_many

PRESETS = sorted(fromax.NS_PRESETS)
# (256, 640) and (300, 300): large enough for the symmetric products (3 blocks of 4).
SHAPES = ((32, 64), (64, 32), (16, 200), (3, 24, 40), (256, 640), (300, 300))


def _matrix(shape, seed=0, spectrum=None):
    rng = np.random.default_rng(seed)
    if spectrum is None:
        return rng.standard_normal(shape).astype(np.float32)
    m, n = shape
    left, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    right, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    return (left @ np.diag(spectrum) @ right.T).astype(np.float32)


def _reference(x, preset, steps):
    triples, scale = ref.iteration(preset, steps)
    batch = np.reshape(x, (-1, *x.shape[-2:])).astype(np.float64)
    return np.stack([ref.newton_schulz(m, triples, scale) for m in batch]).reshape(x.shape)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("gram", [False, True])
def test_float32_iteration_matches_float64(preset, shape, gram):
    x = _matrix(shape)
    got = fromax.newton_schulz(jnp.asarray(x), 5, preset, gram=gram)
    assert got.shape == shape and got.dtype == jnp.float32
    # Measured: at most 1.9e-6 (entries are about 0.1 to 0.2).
    np.testing.assert_allclose(got, _reference(x, preset, 5), atol=5e-6)


def _polynomials(sigma, preset, steps):
    """The iteration on singular values: each is mapped by p(x) = a x + b x^3 + c x^5."""
    triples, _ = ref.iteration(preset, steps)
    for a, b, c in triples:
        sigma = a * sigma + b * sigma**3 + c * sigma**5
    return sigma


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("steps", [5, 8])
@pytest.mark.parametrize("shape", [(32, 64), (64, 32), (16, 200)], ids=str)
def test_singular_values_against_the_svd_polar_factor(preset, steps, shape):
    x = _matrix(shape, seed=1)
    left, sigma, right = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    o = np.asarray(fromax.newton_schulz(jnp.asarray(x), steps, preset), np.float64)
    # O = U diag(s') V^T: the polar factor's singular vectors, to float32 rounding.
    core = left.T @ o @ right.T
    s = np.diag(core)
    assert np.abs(core - np.diag(s)).max() < 1e-5
    # s' is the composed polynomial of the normalised singular values, in float64.
    _, scale = ref.iteration(preset, steps)
    want = _polynomials(sigma / (scale * np.linalg.norm(sigma) + 1e-7), preset, steps)
    np.testing.assert_allclose(s, want, atol=2e-5)  # measured: at most 8.3e-6
    # How close each preset gets to U V^T (measured in float64 above: the same bands).
    if preset == "jordan":
        # Fast, not exact, at any number of steps: [0.682, 1.134].
        assert 0.67 < s.min() and s.max() < 1.14 and np.abs(s - 1).max() > 0.08
    elif steps == 5:
        assert 0.86 < s.min() and s.max() < 1.13
    else:  # Polar Express converges: 8 steps reach U V^T to float32 rounding.
        np.testing.assert_allclose(o, left @ right, atol=2e-6)


def test_polar_express_coefficients_are_the_papers_with_safety_factor():
    pe = fromax.newton_schulz_coefficients("polar_express", 8)
    assert pe.norm_scale == 1.01
    a, b, c = ref.POLAR_EXPRESS[0]
    np.testing.assert_allclose(pe.triples[0], (a / 1.01, b / 1.01**3, c / 1.01**5), rtol=1e-15)
    first = (8.205160414005574, -22.90193498705605, 16.460724910180314)
    assert pe.triples[0] == pytest.approx(first, rel=1e-15)
    assert pe.triples[-1] == (1.875, -1.25, 0.375)
    # Fewer steps: the first ones; more: the last repeated.
    assert fromax.newton_schulz_coefficients("polar_express", 3).triples == pe.triples[:3]
    ten = fromax.newton_schulz_coefficients("polar_express", 10).triples
    assert ten[:8] == pe.triples and ten[8:] == ((1.875, -1.25, 0.375),) * 2


def test_user_coefficients():
    triple = fromax.newton_schulz_coefficients((3.0, -3.2, 1.2), 4)
    assert triple.triples == ((3.0, -3.2, 1.2),) * 4 and triple.norm_scale == 1.0
    listed = fromax.newton_schulz_coefficients([(3.0, -3.2, 1.2), (2.0, -1.5, 0.5), (1, 0, 0)], 2)
    assert listed.triples == ((3.0, -3.2, 1.2), (2.0, -1.5, 0.5))
    x = _matrix((8, 12))
    got = fromax.newton_schulz(jnp.asarray(x), 2, [(3.0, -3.2, 1.2), (2.0, -1.5, 0.5)])
    want = ref.newton_schulz(x, [(3.0, -3.2, 1.2), (2.0, -1.5, 0.5)])
    np.testing.assert_allclose(got, want, atol=2e-6)


@pytest.mark.parametrize(
    ("coefficients", "steps", "message"),
    [
        ("cubic", 5, "must be one of 'jordan', 'polar_express', a triple"),
        ((1.0, 2.0), 5, "must be one of 'jordan', 'polar_express', a triple"),
        ([(3.0, -3.2, 1.2), (2.0, -1.5, 0.5)], 5, "gives 2 triples but ns_steps is 5"),
        ((1.0, float("nan"), 0.0), 5, "must be finite"),
        ("jordan", 0, "ns_steps must be an integer >= 1, got 0"),
    ],
)
def test_bad_coefficients_say_what_is_wrong(coefficients, steps, message):
    with pytest.raises(ValueError, match=message) as raised:
        fromax.newton_schulz_coefficients(coefficients, steps)
    assert "\n" not in str(raised.value)


def test_gram_form_is_as_accurate_as_the_plain_chain():
    # Ill-conditioned inputs (singular values from 1 to 1e-4, and a low-rank one) are
    # where the Gram form's recurrence loses accuracy without its restarts.
    spectrum = np.logspace(0, -4, 64)
    low_rank = _matrix((64, 4), 2) @ _matrix((4, 256), 3) + 1e-3 * _matrix((64, 256), 4)
    # (256, 768): also through the symmetric products.
    large = _matrix((256, 768), 6, np.logspace(0, -4, 256))
    for x in (_matrix((64, 256), 5, spectrum), low_rank.astype(np.float32), large):
        for preset in PRESETS:
            want = _reference(x, preset, 5)
            plain = np.abs(fromax.newton_schulz(jnp.asarray(x), 5, preset, gram=False) - want)
            gram = np.abs(fromax.newton_schulz(jnp.asarray(x), 5, preset, gram=True) - want)
            # Measured over 18 such inputs (64 rows): the Gram form's error is at most 1.6x
            # the plain chain's (both 1e-6 to 6e-6); without its restarts, up to 65x. With
            # the symmetric products (256 rows): 2.2x (9.0e-7 and 2.0e-6).
            assert gram.max() <= 2 * plain.max() + 1e-6, (preset, gram.max(), plain.max())


def test_gram_form_is_chosen_by_flops():
    assert gram_is_cheaper(768, 3072, 5) and gram_is_cheaper(3072, 768, 5)
    assert not gram_is_cheaper(768, 768, 5) and not gram_is_cheaper(768, 950, 5)
    # Multiply-adds: plain 5 (2 m^2 n + m^3); with symmetric products 3/4 of X X^T and R R.
    assert chain_flops(100, 300, 5, gram=False) == 5 * (2 * 100**2 * 300 + 100**3)
    m, n = 768, 3072
    assert chain_flops(m, n, 5, gram=False) == 5 * (1.75 * m * m * n + 0.75 * m**3)
    # The Gram form, restarted every 2 steps: (1.75 m^2 n) per segment, 0.75 (5+5+1) m^3.
    assert chain_flops(m, n, 5, gram=True) == 3 * 1.75 * m * m * n + 0.75 * 11 * m**3


def test_bfloat16_matmuls_stay_close():
    x = _matrix((32, 64))
    got = fromax.newton_schulz(jnp.asarray(x), 5, "jordan", dtype=jnp.bfloat16)
    assert got.dtype == jnp.float32
    want = _reference(x, "jordan", 5)
    # bfloat16 keeps 8 bits: a relative error of 1.6e-2 (PyTorch's NS: 1.6e-2; float32: 1.3e-6).
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 2e-2


def test_zero_gives_zero_and_nonfinite_gives_nan():
    assert not np.asarray(fromax.newton_schulz(jnp.zeros((3, 5)))).any()
    for bad in (jnp.nan, jnp.inf):
        x = jnp.ones((4, 6)).at[1, 2].set(bad)
        assert np.isnan(np.asarray(fromax.newton_schulz(x))).all()


def test_batched_chains_equal_one_matrix_at_a_time():
    rng = np.random.default_rng(7)
    shapes = [(1, 12, 40), (2, 40, 12), (1, 20, 20), (3, 12, 40)]
    matrices = [jnp.asarray(rng.standard_normal(s), jnp.float32) for s in shapes]
    resolved = fromax.newton_schulz_coefficients("jordan", 5)
    together = jax.jit(lambda ms: orthogonalize_many(ms, resolved, 1e-7, np.dtype("float32")))(
        matrices
    )
    for m, got in zip(matrices, together, strict=True):
        alone = np.stack([fromax.newton_schulz(one, 5, "jordan") for one in m])
        np.testing.assert_allclose(got, alone, atol=1e-6)


@pytest.mark.parametrize("bad", [None, jnp.ones((3, 3), jnp.int32)], ids=["None", "int32"])
def test_newton_schulz_refuses_non_float_input_in_one_line(bad):
    with pytest.raises(TypeError, match=r"^newton_schulz needs a real float matrix [^\n]*$"):
        fromax.newton_schulz(bad)
