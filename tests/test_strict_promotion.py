"""The suite runs under strict promotion (conftest.py), and the optax opt-out is local."""

import jax
import jax.numpy as jnp
import pytest


def test_the_session_promotes_nothing_implicitly():
    assert jax.config.jax_numpy_dtype_promotion == "strict"
    assert jax.config.jax_numpy_rank_promotion == "raise"
    with pytest.raises(jax.dtypes.TypePromotionError):
        jnp.ones(2, jnp.bfloat16) + jnp.ones(2, jnp.float32)
    with pytest.raises(ValueError, match="rank_promotion"):
        jnp.ones((2, 3)) + jnp.ones(3)


def test_the_optax_opt_out_is_restored_on_exit():
    with jax.numpy_dtype_promotion("standard"):
        assert (jnp.ones(2, jnp.bfloat16) + jnp.ones(2, jnp.float32)).dtype == jnp.float32
    assert jax.config.jax_numpy_dtype_promotion == "strict"
