"""The GPT: its equations against float64 NumPy, causality, size, initial loss and sampling."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fromax.lab import _gpt
from fromax.lab._gpt import GPTConfig, apply, decay_mask, gpt, init, loss, parameter_count, sample
from fromax.lab._text import load_corpus, train_batch

TINY = GPTConfig(layers=2, width=16, heads=2, context=8)
VOCAB = 11
_apply = jax.jit(apply, static_argnums=2)
_loss = jax.jit(loss, static_argnums=3)


def _o1_params(seed: int = 0):
    """TINY's parameters at a scale where every term matters.

    At GPT-2's initialisation (0.02) attention is nearly uniform and the
    gains are 1, so an error in the softmax, the scaling or a gain's use
    would hardly move the logits: here matrices are N(0, 1/fan_in),
    embeddings N(0, 1), gains 1 + N(0, 0.3^2).
    """
    rng = np.random.default_rng(seed)
    template = init(jax.random.key(0), VOCAB, TINY)

    def draw(path, leaf):
        name = jax.tree_util.keystr(path)
        if leaf.ndim == 1:
            return jnp.asarray(1 + 0.3 * rng.normal(size=leaf.shape), jnp.float32)
        scale = 1.0 if ("embed" in name or "pos" in name) else 1 / math.sqrt(leaf.shape[0])
        return jnp.asarray(scale * rng.normal(size=leaf.shape), jnp.float32)

    return jax.tree_util.tree_map_with_path(draw, template)


def _reference_logits(params, tokens, config):
    """The module docstring's equations in float64 NumPy, written apart from the model."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)

    def rms_norm(x, g):
        return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-6) * g

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    batch, length = tokens.shape
    d, h = config.width, config.heads
    c = d // h
    x = p["embed"][tokens] + p["pos"][:length]
    for block in p["blocks"]:
        y = rms_norm(x, block["norm1"]) @ block["attn"]["qkv"]
        q, k, v = y[..., :d], y[..., d : 2 * d], y[..., 2 * d :]
        out = np.zeros_like(x)
        for b in range(batch):
            for head in range(h):
                cols = slice(head * c, (head + 1) * c)
                for i in range(length):
                    s = k[b, : i + 1, cols] @ q[b, i, cols] / np.sqrt(c)
                    w = np.exp(s - s.max())
                    out[b, i, cols] = (w / w.sum()) @ v[b, : i + 1, cols]
        x = x + out @ block["attn"]["proj"]
        x = x + gelu(rms_norm(x, block["norm2"]) @ block["mlp"]["up"]) @ block["mlp"]["down"]
    return rms_norm(x, p["norm"]) @ p["head"]


def test_forward_pass_matches_float64_numpy():
    params = _o1_params()
    tokens = np.random.default_rng(1).integers(0, VOCAB, size=(2, 8))
    expected = _reference_logits(params, tokens, TINY)
    logits = _apply(params, jnp.asarray(tokens), TINY)
    assert logits.dtype == jnp.float32
    assert np.abs(expected).max() > 1  # O(1) logits: the tolerance below is relative to them
    np.testing.assert_allclose(np.asarray(logits), expected, rtol=0, atol=1e-5)
    # A shorter sequence uses the first positions.
    np.testing.assert_allclose(
        np.asarray(_apply(params, jnp.asarray(tokens[:, :5]), TINY)),
        _reference_logits(params, tokens[:, :5], TINY),
        rtol=0,
        atol=1e-5,
    )


def test_attention_is_causal():
    params = _o1_params(2)
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, VOCAB, size=(2, 8))
    base = np.asarray(_apply(params, jnp.asarray(tokens), TINY))
    for t in range(7):
        changed = tokens.copy()
        changed[:, t + 1 :] = (tokens[:, t + 1 :] + rng.integers(1, VOCAB, size=(2, 7 - t))) % VOCAB
        logits = np.asarray(_apply(params, jnp.asarray(changed), TINY))
        np.testing.assert_allclose(logits[:, : t + 1], base[:, : t + 1], rtol=0, atol=1e-6)
        assert np.abs(logits[:, t + 1] - base[:, t + 1]).max() > 1e-2  # the change is seen


def test_parameter_layout_and_count():
    params = init(jax.random.key(0), VOCAB, TINY)
    shapes = jax.tree.map(lambda a: a.shape, params)
    assert shapes["embed"] == (11, 16) and shapes["pos"] == (8, 16) and shapes["head"] == (16, 11)
    assert shapes["norm"] == (16,) and len(shapes["blocks"]) == 2
    assert shapes["blocks"][1] == {
        "attn": {"qkv": (16, 48), "proj": (16, 16)},
        "mlp": {"up": (16, 64), "down": (64, 16)},
        "norm1": (16,),
        "norm2": (16,),
    }
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
    # 2 V d + C d + L (12 d^2 + 2 d) + d = 352 + 128 + 2 * 3104 + 16.
    assert parameter_count(VOCAB, TINY) == 6704
    assert sum(leaf.size for leaf in jax.tree.leaves(params)) == 6704
    default = GPTConfig()
    params = init(jax.random.key(0), 65, default)
    assert sum(leaf.size for leaf in jax.tree.leaves(params)) == parameter_count(65) == 812416


def test_initialisation_is_gpt2s():
    params = init(jax.random.key(0), 65, GPTConfig())
    block = params["blocks"][0]
    # 0.02 everywhere; the residual projections 0.02 / sqrt(2 * 4 layers).
    for matrix in (params["embed"], params["head"], block["attn"]["qkv"], block["mlp"]["up"]):
        assert float(jnp.std(matrix)) == pytest.approx(0.02, rel=0.05)
    for matrix in (block["attn"]["proj"], block["mlp"]["down"]):
        assert float(jnp.std(matrix)) == pytest.approx(0.02 / math.sqrt(8), rel=0.05)
    assert float(jnp.abs(jnp.mean(block["mlp"]["up"]))) < 1e-3
    assert all(
        float(jnp.min(g)) == float(jnp.max(g)) == 1.0 for g in (block["norm1"], params["norm"])
    )
    # Pieces of one draw, not copies: no two matrices of a shape are equal.
    assert not np.array_equal(block["attn"]["qkv"], params["blocks"][1]["attn"]["qkv"])


def test_initial_loss_is_about_ln_vocab():
    corpus = load_corpus("shakespeare")
    config = GPTConfig()
    params = init(jax.random.key(0), corpus.vocabulary.size, config)
    x, y = train_batch(corpus.train, config.context, 16, seed=0, step=0)
    value = float(_loss(params, jnp.asarray(x), jnp.asarray(y), config))
    # The final RMSNorm gives unit features, so the logits are about N(0, s^2),
    # s^2 = 0.02^2 * width = 0.051; E[cross-entropy] ~ ln V + s^2 / 2 = 4.174 + 0.026.
    # 1,024 predictions put the batch's mean within about 0.02 of that: 0.05 allows both.
    assert value == pytest.approx(math.log(65) + 0.026, abs=0.05)


def test_every_parameter_gets_a_finite_gradient():
    # The causal mask's -inf must not leak NaN into the gradients.
    params = init(jax.random.key(0), VOCAB, TINY)
    tokens = jnp.asarray(np.random.default_rng(0).integers(0, VOCAB, size=(2, 9)))
    grads = jax.jit(jax.grad(loss), static_argnums=3)(params, tokens[:, :-1], tokens[:, 1:], TINY)
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        assert bool(jnp.isfinite(g).all()), jax.tree_util.keystr(path)
        assert float(jnp.abs(g).max()) > 0, jax.tree_util.keystr(path)


def test_decay_mask_spares_embeddings_and_gains():
    mask = decay_mask(init(jax.random.key(0), VOCAB, TINY))
    assert (mask["embed"], mask["pos"], mask["norm"], mask["head"]) == (False, False, False, True)
    assert mask["blocks"][0] == {
        "attn": {"qkv": True, "proj": True},
        "mlp": {"up": True, "down": True},
        "norm1": False,
        "norm2": False,
    }


def test_as_a_model_and_config_errors():
    model = gpt(TINY)
    params = model.init(jax.random.key(0), (8,), VOCAB)
    tokens = jnp.asarray(np.arange(16).reshape(2, 8) % VOCAB)
    np.testing.assert_array_equal(
        jax.jit(model.apply)(params, tokens), _apply(params, tokens, TINY)
    )
    with pytest.raises(ValueError, match=r"windows of 8 tokens \(its context\), got .* \(64,\)"):
        model.init(jax.random.key(0), (64,), VOCAB)
    with pytest.raises(ValueError, match=r"width \(10\) must be a multiple of heads \(4\)"):
        gpt(GPTConfig(width=10, heads=4))
    with pytest.raises(ValueError, match="the GPT's layers must be a positive integer, got 0"):
        init(jax.random.key(0), VOCAB, GPTConfig(layers=0))
    with pytest.raises(ValueError, match=r"length <= context \(8\), got shape \(1, 9\)"):
        apply(params, jnp.zeros((1, 9), jnp.int32), TINY)


def _reference_sample(params, prompt, length, key, temperature):
    """One token at a time from the last `context` tokens (no padding), in float64 NumPy."""
    tokens = list(prompt)
    for i in range(length):
        window = np.asarray(tokens[-TINY.context :])[None]
        logits = _reference_logits(params, window, TINY)[0, -1]
        if temperature == 0:
            tokens.append(int(np.argmax(logits)))
        else:
            scaled = jnp.asarray(logits / temperature, jnp.float32)
            tokens.append(int(jax.random.categorical(jax.random.fold_in(key, i), scaled)))
    return tokens[len(prompt) :]


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_sampling_slides_the_window(temperature):
    params = _o1_params(4)
    key = jax.random.key(5)
    # 3 + 12 tokens > context 8: the window slides after the fifth new token.
    tokens = sample(params, TINY, [1, 2, 3], 12, key, temperature)
    assert tokens.dtype == jnp.int32 and tokens.shape == (12,)
    assert tokens.tolist() == _reference_sample(params, [1, 2, 3], 12, key, temperature)


def test_sampling_is_deterministic_for_a_key_and_compiled_once(monkeypatch):
    config = GPTConfig(layers=1, width=8, heads=2, context=6)  # used by no other test
    params = init(jax.random.key(0), 7, config)
    traces = []
    original = _gpt.apply
    monkeypatch.setattr(_gpt, "apply", lambda *a: traces.append(1) or original(*a))
    a = sample(params, config, [3], 20, jax.random.key(1))
    assert len(traces) == 1  # 20 tokens, one trace of the model: a scan, not a Python loop
    assert a.tolist() == sample(params, config, [3], 20, jax.random.key(1)).tolist()
    assert len(traces) == 1  # the second call reuses the compiled program
    assert a[:8].tolist() == sample(params, config, [3], 8, jax.random.key(1)).tolist()
    assert a.tolist() != sample(params, config, [3], 20, jax.random.key(2)).tolist()
    assert sample(params, config, [3], 0, jax.random.key(1)).shape == (0,)


def test_sampling_errors_are_named():
    params = init(jax.random.key(0), VOCAB, TINY)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="at least one token"):
        sample(params, TINY, [], 5, key)
    with pytest.raises(ValueError, match=r"tokens 0\.\.10, got \[3, 11\]"):
        sample(params, TINY, [3, 11], 5, key)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample(params, TINY, [3], 5, key, temperature=-1.0)
    with pytest.raises(ValueError, match="length must be >= 0"):
        sample(params, TINY, [3], -1, key)
