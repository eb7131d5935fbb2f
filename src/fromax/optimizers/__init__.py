"""The optimisers: one module per algorithm or family.

Their public names are exported flat from ``fromax`` (``fromax.adam``), and
from here.
"""

# isort: off
# The order of these imports is the order in which the optimisers are declared
# (_core/_registry.py), which is the order `fromax optimizers` and the README list
# them in: Fromage's family, then the standard ones.
from fromax.optimizers._fromage import FromageState, fromage, fromage_update
from fromax.optimizers._newton_schulz import (
    NS_PRESETS,
    NewtonSchulzCoefficients,
    newton_schulz,
    newton_schulz_coefficients,
)
from fromax.optimizers._matrices import MatrixAxes
from fromax.optimizers._muon import MuonState, muon, muon_direction, muon_labels, muon_scale
from fromax.optimizers._scion import (
    SCION_NORMS,
    ScionLayer,
    ScionState,
    scion,
    scion_labels,
    scion_lmo,
)
from fromax.optimizers._nero import NeroState, nero, nero_project
from fromax.optimizers._madam import MadamState, madam
from fromax.optimizers._trust_ratio import LarsState, lamb, lars, scale_by_trust_ratio, trust_ratio
from fromax.optimizers._sgd import SgdState, sgd
from fromax.optimizers._adam_direction import AdamState, adam_direction
from fromax.optimizers._adam import adam, adamw, nadam, scale_by_adam
from fromax.optimizers._lion import LionState, lion
from fromax.optimizers._rmsprop import RMSpropState, rmsprop
from fromax.optimizers._adagrad import AdagradState, adagrad
from fromax.optimizers._adafactor import AdafactorState, adafactor
from fromax.optimizers._schedule_free import (
    ScheduleFreeState,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)
# isort: on

__all__ = [
    "NS_PRESETS",
    "SCION_NORMS",
    "AdafactorState",
    "AdagradState",
    "AdamState",
    "FromageState",
    "LarsState",
    "LionState",
    "MadamState",
    "MatrixAxes",
    "MuonState",
    "NeroState",
    "NewtonSchulzCoefficients",
    "RMSpropState",
    "ScheduleFreeState",
    "ScionLayer",
    "ScionState",
    "SgdState",
    "adafactor",
    "adagrad",
    "adam",
    "adam_direction",
    "adamw",
    "fromage",
    "fromage_update",
    "lamb",
    "lars",
    "lion",
    "madam",
    "muon",
    "muon_direction",
    "muon_labels",
    "muon_scale",
    "nadam",
    "nero",
    "nero_project",
    "newton_schulz",
    "newton_schulz_coefficients",
    "rmsprop",
    "scale_by_adam",
    "scale_by_trust_ratio",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "scion",
    "scion_labels",
    "scion_lmo",
    "sgd",
    "trust_ratio",
]
