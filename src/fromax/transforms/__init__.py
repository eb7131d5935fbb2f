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
from fromax.transforms._lookahead import LookaheadState, lookahead
from fromax.transforms._masked import MaskedState, masked
from fromax.transforms._reduce_on_plateau import PlateauState, reduce_on_plateau
from fromax.transforms._schedule_free_wrapper import ScheduleFreeWrapperState, schedule_free
from fromax.transforms._skip_nonfinite import SkipNonfiniteState, all_finite, skip_nonfinite

__all__ = [
    "AccumulateState",
    "LookaheadState",
    "MaskedState",
    "PlateauState",
    "ScheduleFreeWrapperState",
    "SkipNonfiniteState",
    "TraceState",
    "accumulate_gradients",
    "add_decayed_weights",
    "all_finite",
    "clip",
    "clip_by_global_norm",
    "global_norm",
    "lookahead",
    "masked",
    "momentum_update",
    "reduce_on_plateau",
    "scale_by_learning_rate",
    "schedule_free",
    "skip_nonfinite",
    "trace",
]
