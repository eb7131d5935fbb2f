"""Building blocks and wrappers: pieces to chain, and transformations around others.

Their public names are exported flat from ``fromax`` (``fromax.masked``), and
from here.
"""

from fromax.transforms._accumulate import AccumulateState, accumulate_gradients
from fromax.transforms._building_blocks import (
    TraceState,
    add_decayed_weights,
    momentum_update,
    scale_by_learning_rate,
    trace,
)
from fromax.transforms._clipping import clip, clip_by_global_norm, global_norm
from fromax.transforms._ema import EmaState, ema, ema_params
from fromax.transforms._lookahead import LookaheadState, lookahead
from fromax.transforms._masked import MaskedState, masked
from fromax.transforms._partition import PartitionState, partition, shared_value
from fromax.transforms._reduce_on_plateau import PlateauState, reduce_on_plateau
from fromax.transforms._schedule_free_wrapper import ScheduleFreeWrapperState, schedule_free
from fromax.transforms._skip_nonfinite import SkipNonfiniteState, all_finite, skip_nonfinite

__all__ = [
    "AccumulateState",
    "EmaState",
    "LookaheadState",
    "MaskedState",
    "PartitionState",
    "PlateauState",
    "ScheduleFreeWrapperState",
    "SkipNonfiniteState",
    "TraceState",
    "accumulate_gradients",
    "add_decayed_weights",
    "all_finite",
    "clip",
    "clip_by_global_norm",
    "ema",
    "ema_params",
    "global_norm",
    "lookahead",
    "masked",
    "momentum_update",
    "partition",
    "reduce_on_plateau",
    "scale_by_learning_rate",
    "schedule_free",
    "shared_value",
    "skip_nonfinite",
    "trace",
]
