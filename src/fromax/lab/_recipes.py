"""How each optimiser is set up to train the GPT: its learning rate, hyperparameters and trees.

With ``--model gpt``, an optimiser that has a recipe here takes the
recipe's learning rate and hyperparameters unless the command line gives
them (``--learning-rate``, ``--hyper``); the run's ``run.json`` records
what was used. Every optimiser, recipe or not, is given the GPT's trees
that it declares: ``mask`` (weight decay on the blocks' matrices and the
head only: :func:`~fromax.lab._gpt.decay_mask`) and, for Muon and Scion,
``labels`` (which leaves are matrices, and each leaf's norm).

The recipes: AdamW as REFERENCE.md's small-LM table (peak 3e-3, warm-up
100, cosine, weight decay 0.1, b2 0.99); Muon at 0.02 on the blocks'
matrices with AdamW at 3e-3 on the embeddings, head and gains (optax's
untuned figure), both warmed up and decayed like AdamW; Fromage and Scion
with the same schedule shape at their own peaks.

The peaks were chosen on grids of 2,000-step runs (``benchmarks/gpt_tune.py``,
results in ``benchmarks/results/gpt_tune/``): Fromage's best peak was 0.02
(0.03 within 0.01 of it, 0.01 0.14 worse); Scion's 4e-4 with radius 50. For
Muon no point of the grid (peak 0.008-0.06, AdamW part 3e-3-2e-2, momentum
0.9, 0.95 or 0.98, weight decay, warm-up-stable-decay in place of cosine)
reaches 1.55; the best (peak 0.011, AdamW part 6e-3) beats optax's untuned
recipe by 0.010 on the mean of three seeds (1.579 against 1.589). The recipe
stays optax's, which keeps the comparison with optax like for like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from fromax.lab._gpt import decay_mask

__all__ = [
    "GPT_RECIPES",
    "Recipe",
    "apply_recipe",
    "gpt_muon_labels",
    "gpt_scion_labels",
    "gpt_trees",
    "warmup_cosine",
]

WARMUP = 100


class Recipe(NamedTuple):
    """A peak learning rate and ``--hyper`` texts; ``{peak}``-style schedules are built per run."""

    peak: float
    hyper: dict[str, str]
    # Other hyperparameters that follow the learning rate's schedule shape, at their own peaks.
    scheduled: tuple[tuple[str, float], ...] = ()


GPT_RECIPES: dict[str, Recipe] = {
    "adamw": Recipe(3e-3, {"b2": "0.99", "weight_decay": "0.1"}),
    "muon": Recipe(0.02, {"adam_b2": "0.99"}, (("adam_learning_rate", 3e-3),)),
    "fromage": Recipe(0.02, {}),
    "scion": Recipe(4e-4, {"radius": "50.0", "unconstrained": "true"}),
}


def warmup_cosine(peak: float, steps: int) -> str:
    """The recipes' schedule as a spec: linear warm-up from 0, then cosine to 0 at ``steps``.

    Example:
        >>> from fromax.lab._recipes import warmup_cosine
        >>> warmup_cosine(0.003, 2000)
        'warmup_cosine_decay(init_value=0.0, peak_value=0.003, warmup_steps=100, decay_steps=2000)'
    """
    warmup = min(WARMUP, max(steps // 10, 1))
    return (
        f"warmup_cosine_decay(init_value=0.0, peak_value={peak!r}, warmup_steps={warmup}, "
        f"decay_steps={max(steps, warmup + 1)})"
    )


def apply_recipe(
    name: str, learning_rate: str | None, hyper: dict[str, str], steps: int
) -> tuple[str | None, dict[str, str]]:
    """``(learning_rate, hyper)`` with the GPT recipe's filling in what was not given.

    Example:
        >>> from fromax.lab._recipes import apply_recipe
        >>> apply_recipe("adamw", "0.001", {"b2": "0.95"}, 500)
        ('0.001', {'b2': '0.95', 'weight_decay': '0.1'})
        >>> apply_recipe("sgd", None, {}, 500)
        (None, {})
    """
    recipe = GPT_RECIPES.get(name)
    if recipe is None:
        return learning_rate, dict(hyper)
    filled = {**recipe.hyper}
    filled.update({k: warmup_cosine(v, steps) for k, v in recipe.scheduled})
    filled.update(hyper)
    return learning_rate if learning_rate is not None else warmup_cosine(recipe.peak, steps), filled


def gpt_muon_labels(params: Any) -> Any:
    """``"muon"`` on the blocks' matrices, ``"adamw"`` on embeddings, positions, head and gains.

    Muon's own default would take the positions (a matrix whose key does
    not name an embedding) for a hidden layer.

    Example:
        >>> import jax
        >>> from fromax.lab._gpt import GPTConfig, init
        >>> from fromax.lab._recipes import gpt_muon_labels
        >>> labels = gpt_muon_labels(init(jax.random.key(0), 5, GPTConfig(1, 8, 2, 4)))
        >>> labels["pos"], labels["head"], labels["blocks"][0]["attn"]["qkv"], labels["norm"]
        ('adamw', 'adamw', 'muon', 'adamw')
    """
    mask = jax.tree.map(lambda m: "muon" if m else "adamw", decay_mask(params))
    return {**mask, "head": "adamw"}


def gpt_scion_labels(params: Any) -> Any:
    """Scion's norms: spectral for the blocks' matrices, sign for the head, colnorm for the
    token and position embeddings, RMS for the gains (the paper's choices for a transformer).

    Example:
        >>> import jax
        >>> from fromax.lab import _gpt, _recipes
        >>> params = _gpt.init(jax.random.key(0), 5, _gpt.GPTConfig(1, 8, 2, 4))
        >>> labels = _recipes.gpt_scion_labels(params)
        >>> sorted(set(jax.tree.leaves(labels))), labels["pos"], labels["head"]
        (['colnorm', 'rms', 'sign', 'spectral'], 'colnorm', 'sign')
        >>> labels["blocks"][0]["mlp"]["up"], labels["norm"]
        ('spectral', 'rms')
    """
    norms = jax.tree.map(lambda m: "spectral" if m else "rms", decay_mask(params))
    return {**norms, "embed": "colnorm", "pos": "colnorm", "head": "sign"}


_TREES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "muon": {"labels": gpt_muon_labels},
    "scion": {"labels": gpt_scion_labels},
}


def gpt_trees(name: str, declared: Callable[[str], bool]) -> dict[str, Callable[[Any], Any]]:
    """The tree arguments optimiser ``name`` gets on the GPT, among those it ``declared``.

    Example:
        >>> from fromax.lab._recipes import gpt_trees
        >>> sorted(gpt_trees("adamw", lambda argument: argument == "mask"))
        ['mask']
    """
    trees = {"mask": decay_mask, **_TREES.get(name, {})}
    return {key: tree for key, tree in trees.items() if declared(key)}
