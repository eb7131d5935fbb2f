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
from compilation import DEFAULT_EMITTERS
from fromax import schedules
from fromax._core._registry import spec
from optimizer_registry import all_entries
from tracing import assert_max_traces

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


def _jitted_step(opt):
    def step(params, state, targets, noise_t):
        grads = [_gradient(*args) for args in zip(params, targets, noise_t, strict=True)]
        updates, state = opt.update(grads, state, params)
        return fromax.apply_updates(params, updates), state

    return step


# One compiled step per entry for the whole module. ``update`` reads every
# hyperparameter from the state (DESIGN.md, "Hyperparameters are data"), so the
# step of the entry's optimiser built at its test values also runs the state of
# one built with other values or schedules: jax.jit compiles it once per tree
# structure of the state, not once per hyperparameter. The module uses three
# structures per entry: all constants, all ``linear`` (the scheduling test) and
# the entry's ``scheduled``; a fourth trace means a retrace on data alone.
_STEPS = {}


def _step(entry):
    """The entry's compiled step, and the traced function (its ``traces()`` counts)."""
    if entry.name not in _STEPS:
        traced = assert_max_traces(_jitted_step(_make(entry)), max_traces=3)
        _STEPS[entry.name] = (jax.jit(traced), traced)
    return _STEPS[entry.name]


def _float32(arrays):
    return [jnp.asarray(a, jnp.float32) for a in arrays]


def _run(step, state, params, targets, noise, steps):
    """``steps`` jitted steps in float32 from ``state``; returns the params and the final state."""
    params, targets = _float32(params), _float32(targets)
    # Sliced in NumPy: slicing a JAX array compiles an operation per shape.
    noise = [np.asarray(n, np.float32) for n in noise]
    for t in range(steps):
        params, state = step(params, state, targets, [n[t] for n in noise])
    return params, state


def _run_entry(entry, params, targets, noise, steps, **overrides):
    """:func:`_run` on the entry's compiled step, from ``_make(entry, **overrides)``'s state."""
    state = _make(entry, **overrides).init(_float32(params))
    return _run(_step(entry)[0], state, params, targets, noise, steps)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_exact_against_float64_reference_under_schedules(entry):
    assert len(entry.scheduled) >= 2, "schedule the learning rate and one more hyperparameter"
    steps = 100
    params, targets, noise = _problem(steps=steps)
    got, state = _run_entry(entry, params, targets, noise, steps, **entry.scheduled)

    hyper = {**entry.hyperparams, **entry.scheduled}
    # Every schedule's value at every step, from one compiled call (not 100 eager ones).
    every_step = jnp.arange(steps, dtype=jnp.int32)
    followed = {
        k: np.asarray(jax.jit(jax.vmap(v))(every_step))
        for k, v in hyper.items()
        if isinstance(v, schedules.Schedule)
    }
    exact = [np.asarray(jnp.asarray(p, jnp.float32), np.float64) for p in params]
    states = [entry.reference_init(p) for p in exact]
    for t in range(steps):
        values = {k: float(followed[k][t]) if k in followed else v for k, v in hyper.items()}
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


def _flat(value):
    # A linear ramp of one step weighs its ends by exactly 0 or 1: ``value`` at every
    # step, bit for bit, in the tree structure of a moving ``linear``.
    return schedules.linear(value, value, transition_steps=1)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_every_hyperparameter_is_schedulable(entry):
    params, targets, noise = _problem(steps=4)
    base, base_state = _run_entry(entry, params, targets, noise, 4)
    # Every hyperparameter on a flat ``linear`` gives exactly the steps of the constants,
    # so below, where one of them moves, any change is that one's doing (and the step
    # is compiled once for all of them).
    flat = {name: _flat(value) for name, value in entry.hyperparams.items()}
    flat_state = fromax.set_hyperparams(_make(entry).init(_float32(params)), flat)
    same, _ = _run(_step(entry)[0], flat_state, params, targets, noise, 4)
    for a, b in zip(same, base, strict=True):
        np.testing.assert_array_equal(a, b)
    for name, value in entry.hyperparams.items():
        # A constant schedule gives exactly the steps of the constant.
        same, _ = _run_entry(entry, params, targets, noise, 4, **{name: schedules.constant(value)})
        for a, b in zip(same, base, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
        # A moving schedule is followed, and reported under the hyperparameter's name.
        moving = schedules.linear(value, 0.5 * value, transition_steps=3)
        moved, state = _run_entry(entry, params, targets, noise, 4, **{**flat, name: moving})
        assert float(fromax.hyperparams(state)[name]) == pytest.approx(float(moving(3)), rel=1e-6)
        assert float(fromax.hyperparams(base_state)[name]) == pytest.approx(value, rel=1e-6)
        changed = any(not np.array_equal(a, b) for a, b in zip(moved, base, strict=True))
        assert changed, f"scheduling {name} changed nothing"


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_no_retrace_on_second_step_or_hyperparameter_change(entry):
    # The entry's step is shared by the module, so it may have been traced for this
    # structure already: count the traces after the first call.
    step, traced = _step(entry)
    params, targets, noise = _problem(steps=3)
    params, state = _run_entry(entry, params, targets, noise, 1)
    traces = traced.traces()
    params, state = _run(step, state, params, targets, [n[1:] for n in noise], 1)
    changes = {k: 0.5 * v for k, v in entry.hyperparams.items()}
    state = fromax.set_hyperparams(state, changes)
    params, state = _run(step, state, params, targets, [n[2:] for n in noise], 1)
    assert traced.traces() == traces
    for k, v in changes.items():
        assert float(fromax.hyperparams(state)[k]) == pytest.approx(v, rel=1e-6)


@pytest.mark.parametrize("entry", ENTRIES, ids=repr)
def test_scan_and_vmap_over_the_learning_rate(entry):
    params, targets, noise = _problem(steps=3)
    params, targets, noise = _float32(params), _float32(targets), _float32(noise)

    def run(learning_rate):
        opt = _make(entry, learning_rate=learning_rate)

        def body(carry, noise_t):
            p, s = carry
            grads = [_gradient(*args) for args in zip(p, targets, noise_t, strict=True)]
            updates, s = opt.update(grads, s, p)
            return (fromax.apply_updates(p, updates), s), None

        (final, _), _ = jax.lax.scan(body, (params, opt.init(params)), noise)
        return final

    lr = entry.hyperparams["learning_rate"]
    rates = [0.5 * lr, lr, 2 * lr]
    # Scion's two sides compile with XLA's default emitters, with which the tolerance
    # below was measured (compilation.py): with the older ones its two programs differ
    # by up to 2.2e-7 on 2 of 24 elements. Every other entry agrees within it either
    # way, and takes the module's compiled step.
    options = DEFAULT_EMITTERS if entry.name == "scion" else None
    batched = jax.jit(jax.vmap(run), compiler_options=options)(jnp.array(rates, jnp.float32))
    if options is None:
        step = _step(entry)[0]
    else:
        step = jax.jit(_jitted_step(_make(entry)), compiler_options=options)
    for i, rate in enumerate(rates):
        # Each rate alone, as a Python number, through one compiled step.
        state = _make(entry, learning_rate=rate).init(params)
        alone, _ = _run(step, state, params, targets, noise, 3)
        for a, b in zip(batched, alone, strict=True):
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
    ours, _ = _run_entry(entry, params, targets, noise, steps, **entry.optax_overrides)
    reference = entry.optax(**hyper, **entry.optax_options)
    with jax.numpy_dtype_promotion("standard"):  # optax promotes implicitly
        state = reference.init(_float32(params))
        theirs, _ = _run(jax.jit(_jitted_step(reference)), state, params, targets, noise, steps)
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
        hidden = jnp.tanh(x @ params[0] + params[1][None])
        return jnp.mean((hidden @ params[2] + params[3][None] - y) ** 2)

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
