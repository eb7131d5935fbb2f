"""Two small classifiers in plain JAX: an MLP and a CNN."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["MODELS", "Model", "cnn", "mlp"]

Params = Any


class Model(NamedTuple):
    """``init(key, input_shape, num_classes) -> params``; ``apply(params, x) -> logits``."""

    name: str
    init: Callable[[jax.Array, tuple[int, ...], int], Params]
    apply: Callable[[Params, jax.Array], jax.Array]


def _add_bias(x: jax.Array, bias: jax.Array) -> jax.Array:
    """``x + bias`` over the last axis, broadcast explicitly (no implicit rank promotion)."""
    return x + jnp.expand_dims(bias, tuple(range(x.ndim - 1)))


def _dense(key: jax.Array, fan_in: int, fan_out: int) -> dict[str, jax.Array]:
    w = jax.random.normal(key, (fan_in, fan_out), jnp.float32) / math.sqrt(fan_in)
    return {"w": w, "b": jnp.zeros(fan_out, jnp.float32)}


def mlp(hidden: Sequence[int] = (128,)) -> Model:
    """A ReLU multi-layer perceptron on flattened inputs; weights N(0, 1/fan_in), zero biases.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fromax.lab._models import mlp
        >>> model = mlp((16,))
        >>> params = model.init(jax.random.key(0), (8, 8), 10)
        >>> model.apply(params, jnp.ones((5, 8, 8))).shape
        (5, 10)
    """

    def init(key: jax.Array, input_shape: tuple[int, ...], num_classes: int) -> Params:
        sizes = [math.prod(input_shape), *hidden, num_classes]
        keys = jax.random.split(key, len(sizes) - 1)
        return [_dense(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]

    def apply(params: Params, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for layer in params[:-1]:
            x = jax.nn.relu(_add_bias(x @ layer["w"], layer["b"]))
        return _add_bias(x @ params[-1]["w"], params[-1]["b"])

    return Model("mlp", init, apply)


def cnn(channels: Sequence[int] = (16, 32)) -> Model:
    """Two 3x3 ReLU convolutions (the second with stride 2), then a dense layer.

    Takes images of shape (height, width) or (height, width, channels).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from fromax.lab._models import cnn
        >>> model = cnn()
        >>> params = model.init(jax.random.key(0), (8, 8), 10)
        >>> model.apply(params, jnp.ones((2, 8, 8))).shape
        (2, 10)
    """

    def init(key: jax.Array, input_shape: tuple[int, ...], num_classes: int) -> Params:
        if len(input_shape) not in (2, 3):
            raise ValueError(
                f"the cnn model needs images (height, width[, channels]), got examples of "
                f"shape {input_shape}; use the mlp model for tabular data"
            )
        height, width = input_shape[:2]
        sizes = [input_shape[2] if len(input_shape) == 3 else 1, *channels]
        keys = jax.random.split(key, len(channels) + 1)
        convs = []
        for k, c_in, c_out in zip(keys, sizes[:-1], sizes[1:], strict=False):
            w = jax.random.normal(k, (3, 3, c_in, c_out), jnp.float32) / math.sqrt(9 * c_in)
            convs.append({"w": w, "b": jnp.zeros(c_out, jnp.float32)})
        flat = math.ceil(height / 2) * math.ceil(width / 2) * channels[-1]
        return {"convs": convs, "head": _dense(keys[-1], flat, num_classes)}

    def apply(params: Params, x: jax.Array) -> jax.Array:
        if x.ndim == 3:
            x = x[..., None]
        for i, layer in enumerate(params["convs"]):
            stride = 2 if i == len(params["convs"]) - 1 else 1
            x = jax.lax.conv_general_dilated(
                x, layer["w"], (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            x = jax.nn.relu(_add_bias(x, layer["b"]))
        x = x.reshape(x.shape[0], -1)
        return _add_bias(x @ params["head"]["w"], params["head"]["b"])

    return Model("cnn", init, apply)


MODELS: dict[str, Callable[[], Model]] = {"mlp": mlp, "cnn": cnn}
