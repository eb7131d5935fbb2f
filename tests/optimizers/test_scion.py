"""Scion: each LMO against float64, the norm ball, its relation to Muon, Fromage as a member.

The float64 reference under schedules is the contract suite's (the ``scion``
entry of ``optimizer_registry_muon.py``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
import reference
import reference_muon as ref
from fromax import schedules

CASES = [
    ("spectral", (12, 20)),
    ("spectral", (20, 12)),
    ("spectral", (3, 3, 4, 8)),
    ("sign", (12, 20)),
    ("sign", (7,)),
    ("colnorm", (30, 8)),
    ("rownorm", (8, 30)),
    ("rms", (7,)),
    ("rms", (3, 2, 2)),
    ("frobenius", (5, 6)),
]


@pytest.mark.parametrize(("norm", "shape"), CASES, ids=str)
def test_each_lmo_against_float64(norm, shape):
    rng = np.random.default_rng(0)
    d = rng.normal(size=shape).astype(np.float32)
    got = fromax.scion_lmo(jnp.asarray(d), norm, 1e-8)
    triples, scale = ref.iteration("jordan", 5)
    want = ref.lmo(d, norm, 1e-8, triples, scale)
    assert got.shape == shape and got.dtype == jnp.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * np.abs(want).max())


def test_each_lmo_lands_on_its_unit_sphere():
    rng = np.random.default_rng(1)
    d = rng.normal(size=(16, 48))
    lmo = lambda norm: np.asarray(  # noqa: E731
        fromax.scion_lmo(
            jnp.asarray(d, jnp.float32), norm, 0.0, ns_steps=8, ns_coefficients="polar_express"
        ),
        np.float64,
    )
    # spectral: ||lmo||_2 = sqrt(fan_out / fan_in), every singular value alike.
    sigma = np.linalg.svd(lmo("spectral"), compute_uv=False)
    np.testing.assert_allclose(sigma, math.sqrt(48 / 16), rtol=2e-6)
    # <d, lmo(d)> is the dual norm: for sign, ||d||_1 / fan_in.
    assert np.sum(d * lmo("sign")) == pytest.approx(np.abs(d).sum() / 16, rel=1e-6)
    np.testing.assert_allclose(np.sqrt(np.mean(lmo("colnorm") ** 2, axis=1)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(lmo("rownorm"), axis=0), 1 / 4, rtol=1e-6)
    assert np.sqrt(np.mean(lmo("rms") ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert np.linalg.norm(lmo("frobenius")) == pytest.approx(1.0, rel=1e-6)


def _train(opt, params, steps=60, seed=2):
    rng = np.random.default_rng(seed)
    noise = [rng.normal(size=(steps, *np.shape(p))) for p in params]
    targets = [rng.normal(size=np.shape(p)) for p in params]
    state = opt.init(params)

    @jax.jit
    def step(params, state, t):
        grads = [
            w - jnp.asarray(tg, jnp.float32) + jnp.asarray(n, jnp.float32)[t]
            for w, tg, n in zip(params, targets, noise, strict=True)
        ]
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    for t in range(steps):
        params, state = step(params, state, t)
    return params


def test_the_constrained_variant_stays_in_its_ball():
    # SCG's step is a convex combination of W and -rho lmo(d): a W inside the ball of
    # radius rho (in the norm with ||lmo|| = 1) stays inside, here with targets outside.
    opt = fromax.scion(
        0.2,
        radius=0.5,
        labels=["spectral", "sign", "colnorm"],
        ns_steps=8,
        ns_coefficients="polar_express",
    )
    params = [jnp.zeros((8, 24)), jnp.zeros((6, 5)), jnp.zeros((10, 4))]
    w, v, e = (np.asarray(p, np.float64) for p in _train(opt, params))
    assert np.linalg.norm(w, 2) <= 0.5 * math.sqrt(24 / 8) * (1 + 1e-5)
    assert np.abs(v).max() <= 0.5 / 6 * (1 + 1e-6)
    assert np.sqrt(np.mean(e**2, axis=1)).max() <= 0.5 * (1 + 1e-6)
    # ... and the ball is reached: the targets pull each W to its boundary.
    assert np.linalg.norm(w, 2) > 0.5 * math.sqrt(3) * 0.95


def test_unconstrained_differs_by_the_shrink_only():
    params = [jnp.ones((4, 6)), jnp.ones(6)]
    grads = [jnp.full((4, 6), 0.5).at[0, 0].set(-1.0), jnp.arange(6.0)]
    con = fromax.scion(0.1, radius=2.0)
    unc = fromax.scion(0.1, radius=2.0, unconstrained=True)
    a, _ = con.update(grads, con.init(params), params)
    b, _ = unc.update(grads, unc.init(params), params)
    for x, y, w in zip(a, b, params, strict=True):
        np.testing.assert_allclose(x - y, -0.1 * w, atol=1e-6)


def test_constrained_spectral_scion_is_muon_with_decay_one_over_rho():
    # W (1 - eta) - eta rho s O  =  Muon with learning rate eta rho and weight decay 1 / rho
    # (momentum as an average without Nesterov, and s the same for fan_out >= fan_in).
    eta, rho = 0.05, 4.0
    params = [jnp.asarray(np.random.default_rng(3).normal(size=(8, 16)), jnp.float32)]
    scion = fromax.scion(eta, momentum=0.9, radius=rho, eps=1e-7, labels=["spectral"])
    muon = fromax.muon(eta * rho, momentum=0.9, weight_decay=1 / rho, nesterov=False)
    np.testing.assert_allclose(_train(scion, params)[0], _train(muon, params)[0], atol=1e-6)


def test_a_layers_radius_multiplies_scions_radius():
    params = [jnp.zeros((4, 6)), jnp.zeros((6, 3))]
    grads = [jnp.ones((4, 6)), -jnp.ones((6, 3))]
    opt = fromax.scion(
        0.1, radius=schedules.constant(2.0), labels=["rms", fromax.ScionLayer("sign", 60.0)]
    )
    updates, _ = opt.update(grads, opt.init(params), params)
    np.testing.assert_allclose(updates[0], -0.1 * 2.0 * np.ones((4, 6)), rtol=1e-6)
    np.testing.assert_allclose(updates[1], 0.1 * 2.0 * 60.0 / 6 * np.ones((6, 3)), rtol=1e-6)


def test_default_norms_follow_the_papers_choices():
    params = {
        "wte": jnp.ones((50, 8)),
        "blocks": [{"w": jnp.ones((8, 8)), "b": jnp.ones(8), "scale": jnp.ones(8)}],
        "lm_head": jnp.ones((8, 50)),
        "conv": jnp.ones((3, 3, 2, 4)),
    }
    assert fromax.scion_labels(params) == {
        "wte": "colnorm",
        "blocks": [{"w": "spectral", "b": "rms", "scale": "rms"}],
        "lm_head": "sign",
        "conv": "spectral",
    }


def test_fromage_is_the_frobenius_member_with_its_shrink():
    # Fromage (Bernstein et al. 2020) is steepest descent under the Frobenius norm with a
    # relative radius ||W|| and the shrink 1 / sqrt(1 + eta^2) in place of SCG's 1 - eta:
    #     W <- (W - eta ||W|| lmo_F(g)) / sqrt(1 + eta^2),   lmo_F(g) = g / ||g||_F.
    eta = schedules.warmup_cosine_decay(0.0, 0.1, warmup_steps=5, decay_steps=40)
    rng = np.random.default_rng(4)
    params = [jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((6, 4), (4,), (3, 2, 2))]
    grads = [
        [jnp.asarray(rng.normal(size=p.shape), jnp.float32) for p in params] for _ in range(40)
    ]

    def member(w, g, t):
        lr = eta(t)
        radius = jnp.sqrt(jnp.sum(w * w))
        return (w - lr * radius * fromax.scion_lmo(g, "frobenius", eps=0.0)) / jnp.sqrt(1 + lr * lr)

    fromage = fromax.fromage(eta)
    state = fromage.init(params)
    ours, theirs = list(params), list(params)
    exact = [np.asarray(p, np.float64) for p in params]
    for t, g in enumerate(grads):
        ours = [member(w, gi, t) for w, gi in zip(ours, g, strict=True)]
        updates, state = fromage.update(g, state, theirs)
        theirs = fromax.apply_updates(theirs, updates)
        exact = [
            reference.fromage_step(w, np.asarray(gi, np.float64), float(eta(t)))
            for w, gi in zip(exact, g, strict=True)
        ]
    for a, b, e in zip(ours, theirs, exact, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)
        np.testing.assert_allclose(a, e, rtol=2e-6, atol=1e-6)


def _error(params, **kwargs):
    with pytest.raises(ValueError) as raised:
        fromax.scion(0.01, **kwargs).init(params)
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_bad_norms_are_refused_with_the_leafs_path():
    params = {"w": jnp.ones((4, 6)), "b": jnp.ones(6), "stack": jnp.ones((2, 3, 3))}
    message = _error(params, labels={"w": "spectral", "b": "spectral", "stack": "rms"})
    assert message.startswith("scion's labels at ['b']: a leaf of shape (6,) has norm 'spectral'")
    message = _error(params, labels={"w": "spectral", "b": "rms", "stack": "colnorm"})
    assert message.startswith("scion's labels at ['stack']") and "no flattening rule" in message
    axes = fromax.ScionLayer("spectral", axes=fromax.MatrixAxes(1, 3))
    message = _error(params, labels={"w": "spectral", "b": "rms", "stack": axes})
    assert message.startswith("scion's labels at ['stack']: MatrixAxes(reduction=1, output=3)")
    stacked = fromax.ScionLayer("spectral", axes=fromax.MatrixAxes(1, 2))
    fromax.scion(0.01, labels={"w": "sign", "b": "rms", "stack": stacked}).init(params)
    with pytest.raises(ValueError, match="ScionLayer's norm must be one of 'spectral', 'sign'"):
        fromax.ScionLayer("nuclear")
    with pytest.raises(ValueError, match="ScionLayer's radius must be a finite number > 0"):
        fromax.ScionLayer("sign", radius=0.0)
