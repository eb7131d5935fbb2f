"""Muon against PyTorch's trajectories and optax.contrib.muon; labels, scales, errors, NaN.

The float64 reference under schedules is the contract suite's (the ``muon``
entry of ``optimizer_registry_muon.py``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fromax
import reference_muon as ref
from compilation import DEFAULT_EMITTERS

DATA = Path(__file__).parent / "data" / "torch_muon_trajectories.npz"


def _torch_data():
    with np.load(DATA, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _replay(data, steps=100, **options):
    """fromax's Muon fed torch's gradients (transposed to JAX's layout), lr and momentum."""
    rates = jnp.asarray(data["lr"], jnp.float32)
    moms = jnp.asarray(data["momentum"], jnp.float32)
    opt = fromax.muon(lambda t: rates[t], momentum=lambda t: moms[t], **options)
    params = [jnp.asarray(data[f"init_{i}"].T) for i in range(3)]
    grads = [jnp.asarray(np.swapaxes(data[f"grads_{i}"], 1, 2)) for i in range(3)]

    @jax.jit
    def step(params, state, t):
        updates, state = opt.update([g[t] for g in grads], state, params)
        return fromax.apply_updates(params, updates), state

    state = opt.init(params)
    for t in range(steps):
        params, state = step(params, state, t)
    return params


@pytest.mark.parametrize(
    ("run", "options", "tolerance"),
    [
        # Newton-Schulz in float32 on both sides. Measured: 7.2e-7 at most (parameters
        # up to 1.4; torch clamps ||u|| at eps where fromax adds eps).
        ("f32_nesterov", {"weight_decay": 0.1}, 1e-5),
        (
            "f32_plain_rmsmatch",
            {"weight_decay": 0.01, "nesterov": False, "scale": "match_adamw"},
            1e-5,
        ),
        # torch always runs it in bfloat16; so does ns_dtype="bfloat16". Both on CPU,
        # with different summation orders: measured 4.1e-3.
        ("stock_bf16_nesterov", {"weight_decay": 0.1, "ns_dtype": "bfloat16"}, 1e-2),
    ],
)
def test_agrees_with_torch_optim_muon(run, options, tolerance):
    data = _torch_data()
    got = _replay(data, **options)
    for i, g in enumerate(got):
        want = data[f"{run}__params_{i}"][-1].T
        np.testing.assert_allclose(g, want, atol=tolerance, err_msg=f"{run}, matrix {i}")


def test_float64_reference_agrees_with_torch_in_float64():
    # The contract suite's reference is checked here against torch's own float64 run.
    data = _torch_data()
    params = [data["init_0"].T.astype(np.float64), data["init_1"].T.astype(np.float64)]
    params.append(data["init_2"].T.astype(np.float64))
    momenta = [np.zeros_like(p) for p in params]
    for t in range(100):
        values = {
            "learning_rate": data["lr"][t],
            "momentum": data["momentum"][t],
            "weight_decay": 0.1,
            "eps": 1e-7,
        }
        for i in range(3):
            grad = data[f"grads_{i}"][t].T.astype(np.float64)
            params[i], momenta[i] = ref.muon_matrix_step(params[i], grad, momenta[i], values)
    for i, p in enumerate(params):
        # Measured 5.0e-8: only eps differs (added here, a clamp in torch).
        np.testing.assert_allclose(p, data[f"f64_nesterov__params_{i}"][-1].T, atol=1e-7)


SHAPES = ((6, 4), (4,), (8, 8), (3, 2, 2), (5, 12))


def _quadratic_run(opt, steps=20, seed=3, every_step=False):
    """The parameters after ``steps`` steps (with ``every_step``, after each of them)."""
    rng = np.random.default_rng(seed)
    params = [jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES]
    targets = [jnp.asarray(rng.normal(size=s), jnp.float32) for s in SHAPES]
    noise = [jnp.asarray(rng.normal(size=(steps, *s)), jnp.float32) for s in SHAPES]

    # XLA's default emitters, with which the agreements below were measured to the ulp
    # (compilation.py): with the older ones, fromax's and optax's Newton-Schulz chains
    # differ by up to 1.7e-6 after 20 steps.
    @functools.partial(jax.jit, compiler_options=DEFAULT_EMITTERS)
    def step(params, state, t):
        grads = [w - tg + 0.3 * n[t] for w, tg, n in zip(params, targets, noise, strict=True)]
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    state = opt.init(params)
    trajectory = []
    for t in range(steps):
        params, state = step(params, state, t)
        trajectory.append(params)
    return trajectory if every_step else params


def _optax_run(opt, **kwargs):
    """:func:`_quadratic_run` of an optax transformation: optax promotes implicitly."""
    with jax.numpy_dtype_promotion("standard"):
        return _quadratic_run(opt, **kwargs)


PE5 = fromax.newton_schulz_coefficients("polar_express", 5).triples


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"weight_decay": 0.1, "adam_weight_decay": 0.05, "adam_learning_rate": 0.01},
        {"scale": "match_adamw", "momentum": 0.9},
        # Polar Express's first five triples, given as a list (optax has no preset; it
        # runs a list of n triples exactly n times).
        {"ns_coefficients": PE5},
    ],
    ids=["defaults", "decays", "match_adamw", "polar_express_list"],
)
def test_agrees_with_optax_contrib_muon_without_nesterov(settings):
    # Where the conventions meet: with nesterov=False, optax's direction m / (1 - beta^t)
    # is a multiple of fromax's m, which Newton-Schulz's normalisation removes (up to eps);
    # optax's AdamW part is then plain AdamW, and optax shares eps with it.
    lr, eps = 0.02, 1e-8
    ours = fromax.muon(
        lr,
        nesterov=False,
        eps=eps,
        adam_eps=eps,
        **{k: v for k, v in settings.items() if k != "ns_coefficients"},
        ns_coefficients=settings.get("ns_coefficients", "jordan"),
    )
    theirs = optax.contrib.muon(
        lr,
        ns_coeffs=settings.get("ns_coefficients", (3.4445, -4.7750, 2.0315)),
        beta=settings.get("momentum", 0.95),
        eps=eps,
        weight_decay=settings.get("weight_decay", 0.0),
        adam_weight_decay=settings.get("adam_weight_decay", 0.0),
        adam_learning_rate=settings.get("adam_learning_rate"),
        nesterov=False,
        consistent_rms=0.2 if settings.get("scale") == "match_adamw" else None,
    )
    for a, b, shape in zip(_quadratic_run(ours), _optax_run(theirs), SHAPES, strict=True):
        # Measured (parameters up to 3.2): Muon's matrices 2.4e-7, one float32 ulp; AdamW's
        # leaves 3.0e-6, where fromax's bias correction 1 - b**t rounds differently.
        np.testing.assert_allclose(a, b, atol=1e-6 if len(shape) == 2 else 1e-5)


def test_nesterov_differs_from_optax_from_the_second_step():
    # optax's Nesterov term is beta m_t / (1 - beta^(t+1)) + (1 - beta) g_t / (1 - beta^t);
    # PyTorch's, fromax's: (1 - beta) g_t + beta m_t. Equal at step 1 (both a multiple of g_1).
    ours = _quadratic_run(fromax.muon(0.02), steps=2, every_step=True)
    theirs = _optax_run(optax.contrib.muon(0.02), steps=2, every_step=True)
    np.testing.assert_allclose(ours[0][0], theirs[0][0], atol=1e-6)
    assert np.abs(np.asarray(ours[1][0]) - np.asarray(theirs[1][0])).max() > 1e-4


def _one_update(opt, params, grads):
    return opt.update(grads, opt.init(params), params)[0]


def test_stacked_matrices_equal_separate_ones():
    rng = np.random.default_rng(0)
    stack = jnp.asarray(rng.normal(size=(3, 6, 10)), jnp.float32)
    grads = jnp.asarray(rng.normal(size=(3, 6, 10)), jnp.float32)
    opt = fromax.muon(0.1, labels=fromax.MatrixAxes(reduction=1, output=2), scale="match_adamw")
    together = _one_update(opt, stack, grads)
    alone = _one_update(fromax.muon(0.1, scale="match_adamw"), list(stack), list(grads))
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-6)
    # The scale is the matrix's: 0.2 sqrt(max(6, 10)), not the stack's.
    rms = float(jnp.sqrt(jnp.mean(together[0] ** 2)))
    assert rms == pytest.approx(0.1 * 0.2 * np.sqrt(10) * np.sqrt(6 / 60), rel=0.2)


def test_convolution_kernels_are_flattened_to_hwi_by_o():
    rng = np.random.default_rng(1)
    kernel = jnp.asarray(rng.normal(size=(3, 3, 4, 8)), jnp.float32)
    grad = jnp.asarray(rng.normal(size=(3, 3, 4, 8)), jnp.float32)
    assert fromax.muon_labels({"conv": kernel}) == {"conv": "muon"}
    got = _one_update(fromax.muon(0.1), kernel, grad)
    flat = _one_update(fromax.muon(0.1), kernel.reshape(36, 8), grad.reshape(36, 8))
    np.testing.assert_allclose(got, flat.reshape(3, 3, 4, 8), atol=1e-6)
    # (36, 8): fan_out < fan_in, so the spectral scale is 1.
    values = {"learning_rate": 0.1, "momentum": 0.95, "weight_decay": 0.0, "eps": 1e-7}
    want, _ = ref.muon_matrix_step(
        np.asarray(kernel, np.float64), np.asarray(grad, np.float64), 0.0, values
    )
    np.testing.assert_allclose(got, want - np.asarray(kernel, np.float64), atol=2e-6)


def test_labels_route_leaves_to_muon_or_adamw():
    params = {"embed": jnp.ones((10, 4)), "blocks": {"w": jnp.ones((4, 4)), "b": jnp.ones(4)}}
    grads = jax.tree.map(lambda p: jnp.linspace(-1.0, 1.0, p.size).reshape(p.shape), params)
    default = _one_update(fromax.muon(0.1, adam_learning_rate=0.01), params, grads)
    # AdamW's first step is -lr * sign(g) (up to eps) on the embedding and the bias.
    np.testing.assert_allclose(
        default["embed"], -0.01 * np.sign(np.asarray(grads["embed"])), atol=1e-6
    )
    # A prefix: every leaf under "blocks" to AdamW; a callable: everything 2-D to Muon.
    prefix = {"embed": "muon", "blocks": "adamw"}
    routed = _one_update(fromax.muon(0.1, adam_learning_rate=0.01, labels=prefix), params, grads)
    np.testing.assert_allclose(routed["blocks"]["w"], -0.01 * np.sign(grads["blocks"]["w"]), 1e-5)
    assert float(jnp.abs(routed["embed"]).max()) > 0.02  # Muon's step, not AdamW's
    by_rank = lambda p: jax.tree.map(lambda x: "muon" if x.ndim == 2 else "adamw", p)  # noqa: E731
    state = fromax.muon(0.1, labels=by_rank).init(params)
    assert state.inner.momentum["embed"] is not None and state.inner.mu["embed"] is None


def _error(**kwargs):
    params = kwargs.pop("params")
    with pytest.raises(ValueError) as raised:
        fromax.muon(0.02, **kwargs).init(params)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_bad_labels_name_the_leaf():
    params = {"layer": {"w": jnp.ones((4, 6)), "b": jnp.ones(6)}, "stack": jnp.ones((2, 4, 4))}
    forced = _error(params=params, labels={"layer": "muon", "stack": "adamw"})
    assert forced.startswith("muon's labels at ['layer']['b']: a leaf of shape (6,) is forced to")
    assert "has no flattening rule" in forced and "MatrixAxes(reduction=..., output=...)" in forced
    stack = _error(params=params, labels={"layer": "adamw", "stack": "muon"})
    assert stack.startswith("muon's labels at ['stack']: a leaf of shape (2, 4, 4) is forced")
    wrong = _error(
        params=params, labels={"layer": fromax.MatrixAxes(1, 2), "stack": fromax.MatrixAxes(1, 2)}
    )
    assert wrong.startswith("muon's labels at ['layer']['b']: MatrixAxes(reduction=1, output=2)")
    assert "does not fit a leaf of shape (6,)" in wrong
    same = _error(params={"w": jnp.ones((4, 4))}, labels={"w": fromax.MatrixAxes(0, 0)})
    assert same.startswith("muon's labels at ['w']") and "distinct" in same
    shape = _error(params=params, labels={"layer": "muon"})
    assert shape.startswith("muon's labels must have the parameters' tree structure")


def test_bad_static_arguments_are_refused_in_one_line():
    cases = [
        ({"ns_coefficients": "cubic"}, "must be one of 'jordan', 'polar_express', a triple"),
        ({"ns_steps": 0}, "muon's ns_steps must be an integer >= 1, got 0"),
        ({"ns_steps": 6, "ns_coefficients": PE5}, "gives 5 triples but ns_steps is 6"),
        ({"labels": {"w": "lion"}}, "'muon', 'adamw' or fromax.MatrixAxes(...) leaves"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(ValueError) as raised:
            fromax.muon(0.02, **kwargs)
        assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_nonfinite_momentum_gives_nan_never_a_finite_step():
    params = {"w": jnp.ones((4, 6)), "v": jnp.ones((6, 4)), "b": jnp.ones(4)}
    grads = jax.tree.map(
        lambda p: jnp.cos(jnp.arange(p.size, dtype=jnp.float32)).reshape(p.shape), params
    )
    opt = fromax.muon(0.02)
    for bad in (jnp.nan, jnp.inf):
        broken = {**grads, "w": grads["w"].at[2, 3].set(bad)}
        updates, state = opt.update(broken, opt.init(params), params)
        assert np.isnan(np.asarray(updates["w"])).all()  # all of it: never orthogonalised garbage
        assert np.isfinite(np.asarray(updates["v"])).all()
        assert not np.isfinite(np.asarray(state.inner.momentum["w"])).all()


def test_skip_nonfinite_keeps_nan_out_of_the_momentum():
    params = {"w": jnp.ones((4, 6)), "b": jnp.ones(6)}
    good = {"w": jnp.full((4, 6), 0.5).at[0, 0].set(-1.0), "b": jnp.ones(6)}
    bad = {**good, "w": good["w"].at[1, 1].set(jnp.nan)}
    opt = fromax.skip_nonfinite(fromax.muon(0.02))
    state = opt.init(params)
    skipped, state_after = opt.update(bad, state, params)
    assert not np.asarray(skipped["w"]).any() and int(state_after.skipped) == 1
    # The skipped step left Muon's state exactly as it was: the next step is the first.
    clean, _ = opt.update(good, state, params)
    after, _ = opt.update(good, state_after, params)
    np.testing.assert_array_equal(after["w"], clean["w"])


def test_match_adamw_gives_the_update_rms_of_adamw():
    # With an exact polar factor, s O has RMS 0.2 whatever the shape (Liu et al. 2025).
    rng = np.random.default_rng(4)
    for shape in ((32, 96), (96, 32)):
        w = jnp.zeros(shape)
        g = jnp.asarray(rng.normal(size=shape), jnp.float32)
        opt = fromax.muon(1.0, scale="match_adamw", ns_coefficients="polar_express", ns_steps=8)
        update = _one_update(opt, w, g)
        assert float(jnp.sqrt(jnp.mean(update**2))) == pytest.approx(0.2, rel=1e-5)


def test_spectral_scale_and_weight_decay():
    rng = np.random.default_rng(5)
    w = jnp.asarray(rng.normal(size=(16, 64)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(16, 64)), jnp.float32)
    opt = fromax.muon(0.1, weight_decay=0.5, ns_coefficients="polar_express", ns_steps=8)
    update = np.asarray(_one_update(opt, w, g), np.float64)
    # W (1 - eta lambda) - eta sqrt(64 / 16) U V^T, in float64.
    want = -0.1 * 0.5 * np.asarray(w, np.float64) - 0.1 * 2.0 * ref.polar_factor(np.asarray(g))
    np.testing.assert_allclose(update, want, atol=2e-6)


def test_bfloat16_newton_schulz_stays_close_to_float32():
    rng = np.random.default_rng(6)
    params = [jnp.asarray(rng.normal(size=(64, 128)), jnp.float32)]
    grads = [jnp.asarray(rng.normal(size=(64, 128)), jnp.float32)]
    full = _one_update(fromax.muon(1.0), params, grads)[0]
    half = _one_update(fromax.muon(1.0, ns_dtype="bfloat16"), params, grads)[0]
    assert half.dtype == jnp.float32
    # Measured: 1.3e-2 relative (bfloat16's 8 bits through 5 iterations).
    assert float(jnp.linalg.norm(half - full) / jnp.linalg.norm(full)) < 3e-2
