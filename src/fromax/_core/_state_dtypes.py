"""The declarations of the moments' storage dtypes, shared by every optimiser that keeps some.

optax's names: ``mu_dtype`` (first moment, momentum), ``nu_dtype`` (second
moment), ``accumulator_dtype`` (SGD's momentum).
"""

from __future__ import annotations

from fromax._core._registry import DType, Hyperparameter

__all__ = ["ACCUMULATOR_DTYPE", "MU_DTYPE", "NU_DTYPE", "STATE_DTYPE"]

_COMPUTE = "the compute dtype (float32, or the parameters' if wider)"

MU_DTYPE = Hyperparameter(
    "mu_dtype", DType(), "the first moment's storage dtype", optional=True, none_means=_COMPUTE
)
NU_DTYPE = Hyperparameter(
    "nu_dtype", DType(), "the second moment's storage dtype", optional=True, none_means=_COMPUTE
)
ACCUMULATOR_DTYPE = Hyperparameter(
    "accumulator_dtype", DType(), "the momentum's storage dtype", optional=True, none_means=_COMPUTE
)
STATE_DTYPE = Hyperparameter(
    "state_dtype", DType(), "z's storage dtype", optional=True, none_means=_COMPUTE
)
