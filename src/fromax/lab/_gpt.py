"""A small decoder-only transformer (GPT) in plain JAX, for character-level language modelling.

For tokens t_1..t_T (T <= context), with x_i = embed[t_i] + pos[i]::

    for each block:
        x <- x + proj(attention(split_heads(qkv(norm1(x)))))   # causal
        x <- x + down(gelu(up(norm2(x))))
    logits = norm(x) @ head

``norm`` is RMSNorm with a learned gain, ``x / sqrt(mean(x^2) + 1e-6) * g``;
attention is softmax(q k^T / sqrt(width / heads)) v with position i seeing
positions <= i; ``gelu`` is the tanh approximation (GPT-2's). No biases.

The parameters are a pytree whose parts are told apart by name and shape:

    {"embed": [vocab, width], "pos": [context, width],
     "blocks": [{"attn": {"qkv": [width, 3 width], "proj": [width, width]},
                 "mlp": {"up": [width, 4 width], "down": [4 width, width]},
                 "norm1": [width], "norm2": [width]}, ...],
     "norm": [width], "head": [width, vocab]}

Kernels are (in, out), so ``x @ w``. Initialised as GPT-2: every matrix and
embedding N(0, 0.02^2), the two residual projections (``proj``, ``down``)
N(0, (0.02 / sqrt(2 layers))^2) so the residual stream's variance does not
grow with depth, gains 1. Float32 throughout.

References:
    Vaswani et al., Attention is all you need, NeurIPS 2017 (arXiv 1706.03762);
    Radford et al., Language models are unsupervised multitask learners (GPT-2), 2019;
    Zhang & Sennrich, Root mean square layer normalization, NeurIPS 2019 (arXiv 1910.07467).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fromax.lab._models import Model

__all__ = [
    "DEFAULT_CONFIG",
    "GPTConfig",
    "apply",
    "cross_entropy",
    "decay_mask",
    "gpt",
    "init",
    "loss",
    "parameter_count",
    "sample",
]

Params = Any

_INIT_STD = 0.02
_NORM_EPS = 1e-6


class GPTConfig(NamedTuple):
    """The shape of the model: ``layers`` blocks of ``width`` features in ``heads`` heads.

    ``context`` is the longest sequence it reads (the number of learned
    positions). ``width`` must be a multiple of ``heads``.
    """

    layers: int = 4
    width: int = 128
    heads: int = 4
    context: int = 64

    def check(self) -> GPTConfig:
        for name, value in self._asdict().items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"the GPT's {name} must be a positive integer, got {value!r}")
        if self.width % self.heads:
            raise ValueError(
                f"the GPT's width ({self.width}) must be a multiple of heads ({self.heads})"
            )
        return self


DEFAULT_CONFIG = GPTConfig()
"""4 layers, width 128, 4 heads, context 64: about 0.8M parameters on 65 characters."""


def parameter_count(vocab: int, config: GPTConfig = DEFAULT_CONFIG) -> int:
    """``2 V d + C d + L (12 d^2 + 2 d) + d``: embeddings and head, positions, blocks, final gain.

    Example:
        >>> from fromax.lab._gpt import parameter_count
        >>> parameter_count(65)  # the default model on Shakespeare's 65 characters
        812416
    """
    d = config.width
    return 2 * vocab * d + config.context * d + config.layers * (12 * d * d + 2 * d) + d


def init(key: jax.Array, vocab: int, config: GPTConfig = DEFAULT_CONFIG) -> Params:
    """Fresh float32 parameters, drawn from ``key`` (GPT-2's initialisation).

    Example:
        >>> import jax
        >>> from fromax.lab._gpt import GPTConfig, init
        >>> params = init(jax.random.key(0), 65, GPTConfig(layers=2, width=16, heads=2, context=8))
        >>> params["blocks"][0]["attn"]["qkv"].shape, params["head"].shape
        ((16, 48), (16, 65))
    """
    config.check()
    if not isinstance(vocab, int) or vocab <= 0:
        raise ValueError(f"vocab must be a positive number of tokens, got {vocab!r}")
    return _init(key, vocab, config)


@partial(jax.jit, static_argnums=(1, 2))
def _init(key: jax.Array, vocab: int, config: GPTConfig) -> Params:
    d, layers = config.width, config.layers
    residual_std = _INIT_STD / math.sqrt(2 * layers)
    shapes = {
        "embed": (vocab, d),
        "pos": (config.context, d),
        "head": (d, vocab),
        "qkv": (d, 3 * d),
        "proj": (d, d),
        "up": (d, 4 * d),
        "down": (4 * d, d),
    }
    # One draw for everything, cut into pieces: each shape drawn apart would
    # be a random-bits program of its own (seconds of compilation apiece).
    sizes = [math.prod(shapes[n]) for n in ("embed", "pos", "head")]
    sizes += [math.prod(shapes[n]) for n in ("qkv", "proj", "up", "down")] * layers
    pieces = iter(
        jnp.split(jax.random.normal(key, (sum(sizes),), jnp.float32), np.cumsum(sizes)[:-1])
    )

    def normal(name: str, std: float = _INIT_STD) -> jax.Array:
        return std * next(pieces).reshape(shapes[name])

    params: dict[str, Any] = {
        "embed": normal("embed"),
        "pos": normal("pos"),
        "head": normal("head"),
    }
    params["blocks"] = [
        {
            "attn": {"qkv": normal("qkv"), "proj": normal("proj", residual_std)},
            "mlp": {"up": normal("up"), "down": normal("down", residual_std)},
            "norm1": jnp.ones(d, jnp.float32),
            "norm2": jnp.ones(d, jnp.float32),
        }
        for _ in range(layers)
    ]
    params["norm"] = jnp.ones(d, jnp.float32)
    return params


def _rms_norm(x: jax.Array, gain: jax.Array) -> jax.Array:
    # x is [tokens, width]; the gain's broadcast is written out (strict rank promotion).
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + _NORM_EPS) * gain[None]


def _attention(params: Params, x: jax.Array, batch: int, heads: int) -> jax.Array:
    tokens, d = x.shape
    length = tokens // batch
    q, k, v = jnp.split(x @ params["qkv"], 3, axis=-1)
    q, k, v = (a.reshape(batch, length, heads, d // heads) for a in (q, k, v))
    scores = jnp.einsum("bqhc,bkhc->bhqk", q, k) / math.sqrt(d // heads)
    causal = jnp.tril(jnp.ones((1, 1, length, length), bool))
    weights = jax.nn.softmax(jnp.where(causal, scores, -jnp.inf), axis=-1)
    out = jnp.einsum("bhqk,bkhc->bqhc", weights, v).reshape(tokens, d)
    return out @ params["proj"]


def apply(params: Params, tokens: jax.Array, config: GPTConfig = DEFAULT_CONFIG) -> jax.Array:
    """The logits ``[batch, length, vocab]`` of the next token at every position.

    ``tokens`` is ``[batch, length]`` of integers, ``length <= context``.
    Position i's logits depend on tokens 0..i only.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fromax.lab._gpt import GPTConfig, apply, init
        >>> config = GPTConfig(layers=1, width=8, heads=2, context=4)
        >>> params = init(jax.random.key(0), 5, config)
        >>> jax.jit(apply, static_argnums=2)(params, jnp.zeros((3, 4), jnp.int32), config).shape
        (3, 4, 5)
    """
    length = tokens.shape[-1]
    if tokens.ndim != 2 or length > params["pos"].shape[0]:
        raise ValueError(
            f"tokens must be [batch, length] with length <= context "
            f"({params['pos'].shape[0]}), got shape {tokens.shape}"
        )
    batch, width = tokens.shape[0], params["embed"].shape[1]
    # The residual stream is kept as [batch * length, width]: XLA:CPU runs the
    # gradients of 2-d matrix products about 1.3 times as fast as those of
    # [batch, length, width] @ [width, out], whose weight gradient contracts
    # two axes at once (measured on this model's step: 175 ms against 131 ms).
    x = (params["embed"][tokens] + params["pos"][None, :length]).reshape(-1, width)
    for block in params["blocks"]:
        x = x + _attention(block["attn"], _rms_norm(x, block["norm1"]), batch, config.heads)
        hidden = jax.nn.gelu(_rms_norm(x, block["norm2"]) @ block["mlp"]["up"], approximate=True)
        x = x + hidden @ block["mlp"]["down"]
    return (_rms_norm(x, params["norm"]) @ params["head"]).reshape(batch, length, -1)


def cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """The mean over every position of ``-log softmax(logits)[target]``, in nats.

    Example:
        >>> import jax.numpy as jnp
        >>> from fromax.lab._gpt import cross_entropy
        >>> float(cross_entropy(jnp.zeros((1, 2, 4)), jnp.array([[0, 3]])))  # ln 4
        1.386294...
    """
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return -jnp.mean(jnp.take_along_axis(log_probs, targets[..., None], axis=-1))


def loss(
    params: Params, inputs: jax.Array, targets: jax.Array, config: GPTConfig = DEFAULT_CONFIG
) -> jax.Array:
    """The mean cross-entropy (nats per token) of predicting ``targets`` from ``inputs``."""
    return cross_entropy(apply(params, inputs, config), targets)


def decay_mask(params: Params) -> Params:
    """True on the matrices of the blocks and the head: where weight decay belongs.

    False on the token and position embeddings and on the norms' gains:
    decaying a gain shrinks what RMSNorm just normalised, and an embedding
    row is only trained when its token (or position) appears, so decay
    would erase rare characters between their appearances.

    Example:
        >>> import jax
        >>> from fromax.lab._gpt import GPTConfig, decay_mask, init
        >>> mask = decay_mask(init(jax.random.key(0), 5, GPTConfig(1, 8, 2, 4)))
        >>> mask["head"], mask["embed"], mask["blocks"][0]["mlp"]["up"], mask["norm"]
        (True, False, True, False)
    """
    mask = jax.tree.map(lambda leaf: leaf.ndim == 2, params)
    return {**mask, "embed": False, "pos": False}


def gpt(config: GPTConfig = DEFAULT_CONFIG) -> Model:
    """The GPT as a :class:`~fromax.lab._models.Model`: ``init(key, (context,), vocab)``.

    ``apply(params, tokens)`` gives ``[batch, length, vocab]`` logits.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fromax.lab._gpt import GPTConfig, gpt
        >>> model = gpt(GPTConfig(layers=1, width=8, heads=2, context=4))
        >>> params = model.init(jax.random.key(0), (4,), 5)
        >>> jax.jit(model.apply)(params, jnp.zeros((2, 3), jnp.int32)).shape
        (2, 3, 5)
    """
    config.check()

    def model_init(key: jax.Array, input_shape: tuple[int, ...], vocab: int) -> Params:
        if tuple(input_shape) != (config.context,):
            raise ValueError(
                f"the GPT reads windows of {config.context} tokens (its context), "
                f"got examples of shape {tuple(input_shape)}"
            )
        return init(key, vocab, config)

    return Model("gpt", model_init, lambda params, tokens: apply(params, tokens, config))


def _generate(
    params: Params,
    prompt: jax.Array,
    key: jax.Array,
    temperature: jax.Array,
    config: GPTConfig,
    length: int,
) -> jax.Array:
    context, size = config.context, prompt.shape[0]
    # One buffer of fixed shape for the prompt and what follows; at least a
    # full window, so the window read at each step always fits in it.
    buffer = jnp.zeros(max(size + length, context), jnp.int32).at[:size].set(prompt)

    def step(buffer: jax.Array, i: jax.Array) -> tuple[jax.Array, jax.Array]:
        n = size + i  # tokens so far
        start = jnp.maximum(n - context, 0)
        window = jax.lax.dynamic_slice(buffer, (start,), (context,))
        # Positions past n - 1 hold zeros; causal attention keeps them out of
        # the logits read here, so the window's shape never changes.
        logits = apply(params, window[None], config)[0, n - start - 1]
        scaled = logits / jnp.maximum(temperature, 1e-6)
        drawn = jax.random.categorical(jax.random.fold_in(key, i), scaled)
        token = jnp.where(temperature > 0, drawn, jnp.argmax(logits)).astype(jnp.int32)
        return buffer.at[n].set(token), token

    _, tokens = jax.lax.scan(step, buffer, jnp.arange(length))
    return tokens


# Compiled once per (config, prompt length, length): the loop over tokens is a scan.
_generate_jit = jax.jit(_generate, static_argnames=("config", "length"))


def sample(
    params: Params,
    config: GPTConfig,
    prompt_tokens: Any,
    length: int,
    key: jax.Array,
    temperature: float = 1.0,
) -> jax.Array:
    """``length`` tokens drawn one at a time after ``prompt_tokens``, the window sliding.

    Each token is drawn from softmax(logits / temperature) given the last
    ``context`` tokens (prompt included); ``temperature=0`` takes the most
    likely token. Token i uses ``jax.random.fold_in(key, i)``, so a shorter
    sample with the same key is a prefix of a longer one.

    Args:
        params: the GPT's parameters.
        config: the GPT's shape (its heads and context).
        prompt_tokens: at least one token.
        length: how many tokens to generate, >= 0.
        key: a JAX random key.
        temperature: >= 0; below 1 sharpens, above 1 flattens.

    Returns:
        int32 ``[length]``: the new tokens, without the prompt.

    Example:
        >>> import jax
        >>> from fromax.lab._gpt import GPTConfig, init, sample
        >>> config = GPTConfig(layers=1, width=8, heads=2, context=4)
        >>> params = init(jax.random.key(0), 5, config)
        >>> tokens = sample(params, config, [1, 2], 10, jax.random.key(1))
        >>> tokens.shape, bool((tokens >= 0).all() & (tokens < 5).all())
        ((10,), True)
    """
    config.check()
    prompt = jnp.asarray(prompt_tokens, jnp.int32).reshape(-1)
    vocab = params["head"].shape[1]
    if prompt.shape[0] == 0:
        raise ValueError("prompt_tokens must hold at least one token; start with a newline, say")
    if int(prompt.min()) < 0 or int(prompt.max()) >= vocab:
        raise ValueError(f"prompt_tokens must be tokens 0..{vocab - 1}, got {prompt.tolist()}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0 (0: the most likely token), got {temperature}")
    return _generate_jit(params, prompt, key, jnp.asarray(temperature, jnp.float32), config, length)
