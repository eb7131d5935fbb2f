"""The contract every registered optimiser meets (see optimizer_registry.py).

Exactness against a float64 reference under non-constant schedules, every
hyperparameter schedulable, agreement with optax, convergence on a
quadratic, Rosenbrock and a small MLP, jit without retracing, scan and vmap,
dtypes, a stable state, and clear errors for bad arguments.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fromax
from fromax import schedules
from fromax._core._registry import spec
from optimizer_registry import all_entries

ENTRIES = all_entries()
SHAPES = ((6, 4), (4,), (3, 2, 2))


def _problem(seed=0, steps=100):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    targets = [rng.normal(size=s) for s in SHAPES]
    noise = [rng.normal(size=(steps, *s)) for s in SHAPES]
    return params, targets, noise


def _gradient(w, target, noise_t):
    # A contracting quadratic plus fixed noise: float32 and float64 runs stay close.
    return (w - target) + 0.3 * noise_t


def _make(entry, **overrides):
    return entry.make(**{**entry.hyperparams, **entry.options, **overrides})


def _run(opt, params, targets, noise, steps):
    """``steps`` jitted steps in float32; returns the params and the final state."""
    targets = [jnp.asarray(t, jnp.float32) for t in targets]
    noise = [jnp.asarray(n, jnp.float32) for n in noise]

    @jax.jit
    def step(params, state, t):
        grads = [_gradient(w, tg, n[t]) for w, tg, n in zip(params, targets, noise, strict=True)]
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    params = [jnp.asarray(p, jnp.float32) for p in params]
    state = opt.init(params)
    for t in range(steps):
        params, state = step(params, state, t)
    return params, state


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_exact_against_float64_reference_under_schedules(entry):
    assert len(entry.scheduled) >= 2, "schedule the learning rate and one more hyperparameter"
    steps = 100
    params, targets, noise = _problem(steps=steps)
    opt = _make(entry, **entry.scheduled)
    got, state = _run(opt, params, targets, noise, steps)

    hyper = {**entry.hyperparams, **entry.scheduled}
    exact = [np.asarray(jnp.asarray(p, jnp.float32), np.float64) for p in params]
    states = [entry.reference_init(p) for p in exact]
    for t in range(steps):
        values = {
            k: float(v(t)) if isinstance(v, schedules.Schedule) else v for k, v in hyper.items()
        }
        for i, (tg, n) in enumerate(zip(targets, noise, strict=True)):
            grad = _gradient(exact[i], tg, np.asarray(n[t], np.float32).astype(np.float64))
            exact[i], states[i] = entry.reference_step(exact[i], grad, states[i], values, t)
    assert int(state.count if hasattr(state, "count") else steps) == steps
    for g, e in zip(got, exact, strict=True):
        np.testing.assert_allclose(g, e, rtol=entry.rtol, atol=entry.rtol * np.abs(e).max())


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_registry_lists_every_numeric_hyperparameter(entry):
    # The declaration says which arguments are schedulable numbers: the entry gives a test
    # value for each of them, and sets every static one (flags, integers, masks) in options.
    declaration = spec(entry.name)
    assert entry.make is declaration.constructor
    assert sorted(h.name for h in declaration.schedulable) == sorted(entry.hyperparams)
    static = [h.name for h in declaration.hyperparameters if not h.kind.schedulable]
    assert sorted(static) == sorted(entry.options)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_every_hyperparameter_is_schedulable(entry):
    params, targets, noise = _problem(steps=4)
    base, base_state = _run(_make(entry), params, targets, noise, 4)
    for name, value in entry.hyperparams.items():
        # A constant schedule gives exactly the steps of the constant.
        same, _ = _run(_make(entry, **{name: schedules.constant(value)}), params, targets, noise, 4)
        for a, b in zip(same, base, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
        # A moving schedule is followed, and reported under the hyperparameter's name.
        moving = schedules.linear(value, 0.5 * value, transition_steps=3)
        moved, state = _run(_make(entry, **{name: moving}), params, targets, noise, 4)
        assert float(fromax.hyperparams(state)[name]) == pytest.approx(float(moving(3)), rel=1e-6)
        assert float(fromax.hyperparams(base_state)[name]) == pytest.approx(value, rel=1e-6)
        changed = any(not np.array_equal(a, b) for a, b in zip(moved, base, strict=True))
        assert changed, f"scheduling {name} changed nothing"


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_no_retrace_on_second_step_or_hyperparameter_change(entry):
    traces = []
    opt = _make(entry)
    params = [jnp.ones(s) for s in SHAPES]
    grads = [jnp.full(s, 0.5) for s in SHAPES]

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    state = opt.init(params)
    params, state = step(params, state)
    params, state = step(params, state)
    changes = {k: 0.5 * v for k, v in entry.hyperparams.items()}
    state = fromax.set_hyperparams(state, changes)
    params, state = step(params, state)
    assert len(traces) == 1
    for k, v in changes.items():
        assert float(fromax.hyperparams(state)[k]) == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_scan_and_vmap_over_the_learning_rate(entry):
    params = [jnp.asarray(p, jnp.float32) for p in _problem()[0]]
    grads = [jnp.full(s, 0.25) for s in SHAPES]

    def run(learning_rate):
        opt = _make(entry, learning_rate=learning_rate)

        def body(carry, _):
            p, s = carry
            updates, s = opt.update(grads, s, p)
            return (fromax.apply_updates(p, updates), s), None

        (final, _), _ = jax.lax.scan(body, (params, opt.init(params)), None, length=3)
        return final

    lr = entry.hyperparams["learning_rate"]
    rates = jnp.array([0.5 * lr, lr, 2 * lr])
    batched = jax.vmap(run)(rates)
    for i, rate in enumerate(rates):
        for a, b in zip(batched, run(float(rate)), strict=True):
            np.testing.assert_allclose(a[i], b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_dtypes(entry, dtype):
    params = [jnp.asarray(p, dtype) for p in _problem()[0]]
    grads = [jnp.asarray(np.cos(np.arange(np.prod(s))).reshape(s), dtype) for s in SHAPES]
    opt = _make(entry)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    assert [u.dtype for u in updates] == [dtype] * len(SHAPES)
    for name, value in fromax.hyperparams(state).items():
        assert value.dtype == jnp.float32, name
    # The maths runs in float32: bf16 params give the float32 result, rounded once.
    if dtype == jnp.bfloat16:
        upcast = [p.astype(jnp.float32) for p in params]
        want, _ = opt.update([g.astype(jnp.float32) for g in grads], opt.init(upcast), upcast)
        for u, w in zip(updates, want, strict=True):
            np.testing.assert_array_equal(u, w.astype(jnp.bfloat16))


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_state_structure_is_stable_and_round_trips(entry):
    opt = _make(entry)
    params = [jnp.asarray(p, jnp.float32) for p in _problem()[0]]
    grads = [jnp.full(s, 0.5) for s in SHAPES]
    state = opt.init(params)
    _, after = opt.update(grads, state, params)
    assert jax.tree.structure(after) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(state), strict=True):
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
    leaves, treedef = jax.tree.flatten(after)
    rebuilt = jax.tree.unflatten(treedef, leaves)
    one, _ = opt.update(grads, after, params)
    two, _ = opt.update(grads, rebuilt, params)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_a_fresh_state_can_be_donated_whole(entry):
    # A step that reads the state before updating it (logging hyperparams(state), say)
    # keeps every leaf as an input; XLA refuses a buffer donated twice.
    opt = _make(entry)
    params = [jnp.asarray(p, jnp.float32) for p in _problem()[0]]
    state = opt.init(params)
    pointers = [x.unsafe_buffer_pointer() for x in jax.tree.leaves((params, state)) if x.size]
    assert len(pointers) == len(set(pointers))

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def logged_step(params, state):
        grads = [jnp.full(p.shape, 0.5) for p in params]
        updates, new_state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), new_state, (params, state)

    logged_step(params, state)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.needs_params], ids=repr)
def test_update_without_params_says_so(entry):
    opt = _make(entry)
    params = [jnp.ones(s) for s in SHAPES]
    with pytest.raises(ValueError, match="needs the current parameters"):
        opt.update(params, opt.init(params))


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_negative_learning_rate_is_refused(entry):
    with pytest.raises(ValueError, match="learning_rate must be"):
        _make(entry, learning_rate=-1.0)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.optax is not None], ids=repr)
def test_agrees_with_optax(entry):
    # Constants only: optax's state (and so its schedule handling) differs by design.
    steps = 20
    params, targets, noise = _problem(seed=3, steps=steps)
    hyper = {**entry.hyperparams, **entry.optax_overrides}
    ours, _ = _run(_make(entry, **entry.optax_overrides), params, targets, noise, steps)
    theirs, _ = _run(entry.optax(**hyper, **entry.options), params, targets, noise, steps)
    for a, b in zip(ours, theirs, strict=True):
        # Measured: at most 1.1e-7 of the largest parameter (Adam's family: optax's
        # 1 - b**t rounds differently from fromax's bias_correction).
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6 * float(np.abs(b).max()))


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_invalid_arguments_are_refused_by_name(entry):
    for kwargs, error, fragment in entry.invalid:
        with pytest.raises(error, match=fragment):
            _make(entry, **kwargs)


# Convergence: every optimiser, at its own defaults (updated by the entry's
# ``convergence``), under a cosine decay whose peak is swept over four decades
# around the entry's test learning rate in one vmapped run (hyperparameters
# are data). The best run must reach the problem's threshold. The entry's
# ``options`` configure the exactness test (e.g. RMSprop's nesterov, which needs
# a momentum its defaults leave off), so they are not passed here; the
# learning rate's default (None for Adafactor, 1.0 for schedule-free SGD) is
# not the sweep's centre.
CONVERGENCE_STEPS = 400
LEARNING_RATE_FACTORS = 10.0 ** np.linspace(-2, 2, 9)


def _quadratic():
    rng = np.random.default_rng(1)
    shapes = ((6, 4), (4,))
    curvature = [jnp.asarray(rng.uniform(1, 10, s), jnp.float32) for s in shapes]
    centre = [jnp.asarray(rng.normal(size=s), jnp.float32) for s in shapes]
    start = [jnp.asarray(rng.normal(size=s), jnp.float32) for s in shapes]

    def loss(params):
        terms = zip(params, curvature, centre, strict=True)
        return sum(0.5 * jnp.sum(h * (w - c) ** 2) for w, h, c in terms)

    return start, loss


def _rosenbrock():
    def loss(params):
        x, y = params[0][0], params[0][1]
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    return [jnp.array([-1.2, 1.0], jnp.float32)], loss


def _mlp():
    # A 4-16-1 tanh network (zero-initialised biases) fitting a fixed 4-8-1 teacher.
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(64, 4)), jnp.float32)
    teacher = [rng.normal(size=(4, 8)), rng.normal(size=(8, 1))]
    y = jnp.asarray(np.tanh(np.asarray(x, np.float64) @ teacher[0]) @ teacher[1], jnp.float32)
    start = [
        jnp.asarray(rng.normal(size=(4, 16)) / 2, jnp.float32),
        jnp.zeros(16, jnp.float32),
        jnp.asarray(rng.normal(size=(16, 1)) / 4, jnp.float32),
        jnp.zeros(1, jnp.float32),
    ]

    def loss(params):
        hidden = jnp.tanh(x @ params[0] + params[1])
        return jnp.mean((hidden @ params[2] + params[3] - y) ** 2)

    return start, loss


# (problem, loss at the start, threshold the best run must reach)
PROBLEMS = {
    "quadratic": (_quadratic, 95.7, 1e-5),
    "rosenbrock": (_rosenbrock, 24.2, 5e-2),
    "mlp": (_mlp, 7.68, 1e-2),
}


def _defaults(entry):
    return {
        h.name: h.default
        for h in spec(entry.name).hyperparameters
        if not h.required and h.name != "learning_rate"
    }


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_converges(entry, problem):
    build, start_loss, threshold = PROBLEMS[problem]
    threshold = entry.convergence_thresholds.get(problem, threshold)
    start, loss = build()
    assert float(loss(start)) == pytest.approx(start_loss, rel=1e-2)
    settings = {**_defaults(entry), **entry.convergence}
    peak = settings.pop("learning_rate", entry.hyperparams["learning_rate"])

    def final_loss(peak):
        schedule = schedules.cosine_decay(peak, CONVERGENCE_STEPS)
        opt = entry.make(learning_rate=schedule, **settings)

        def body(carry, _):
            params, state = carry
            updates, state = opt.update(jax.grad(loss)(params), state, params)
            return (fromax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(
            body, (start, opt.init(start)), None, length=CONVERGENCE_STEPS
        )
        return loss(params)

    losses = np.asarray(jax.jit(jax.vmap(final_loss))(peak * LEARNING_RATE_FACTORS))
    best = np.min(np.where(np.isfinite(losses), losses, np.inf))
    assert best < threshold, (
        f"{entry.name} on {problem}: losses {losses} for peaks x{LEARNING_RATE_FACTORS}"
    )
