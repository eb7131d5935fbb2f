"""``fromax sample``: text from a GPT trained by ``fromax train``, without the training text.

The run's folder holds all it needs: ``run.json`` (the GPT's shape, the
optimiser that built the checkpoint's state, the vocabulary) and
``checkpoint.npz``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import jax

from fromax._checkpoint import restore_checkpoint
from fromax.lab._commands import CHECKPOINT, RUN_CONFIG, RunConfig, gpt_config
from fromax.lab._gpt import gpt, sample
from fromax.lab._run_folder import read_run_config
from fromax.lab._text import Vocabulary

__all__ = ["sample_command"]


def _trained_gpt(run_dir: Path):
    """The run's config and its trained parameters, or a one-line error."""
    saved = run_dir / RUN_CONFIG
    if not saved.is_file() or not (run_dir / CHECKPOINT).is_file():
        raise ValueError(
            f"--run {run_dir}: no {RUN_CONFIG} and {CHECKPOINT} there; train one first"
        )
    config = RunConfig(read_run_config(run_dir, "--run"))
    if config["model"] != "gpt" or not isinstance(config.get("vocabulary"), str):
        raise ValueError(f"--run {run_dir} trained a {config['model']}; sample needs --model gpt")
    shape = gpt_config(config)
    vocabulary = Vocabulary(config["vocabulary"])
    # The checkpoint holds (params, optimiser state): restoring needs a template of both.
    params = gpt(shape).init(jax.random.key(0), (shape.context,), vocabulary.size)
    template = (params, config.optimizer().init(params))
    params, _ = restore_checkpoint(run_dir / CHECKPOINT, template)
    return shape, vocabulary, params


def sample_command(
    run_dir: Path, prompt: str, length: int, *, temperature: float, seed: int, out: TextIO
) -> str:
    """Prints ``prompt`` and ``length`` characters drawn after it; returns that text.

    Characters the training text lacks are refused in one line.
    """
    if length < 0:
        raise ValueError(f"--length must be >= 0, got {length}")
    if not temperature >= 0:
        raise ValueError(
            f"--temperature must be >= 0 (0: the most likely character), got {temperature}"
        )
    shape, vocabulary, params = _trained_gpt(Path(run_dir))
    if not prompt:
        raise ValueError('--prompt must hold at least one character, say "\\n"')
    try:
        tokens = vocabulary.encode(prompt)
    except ValueError as error:
        raise ValueError(f"--prompt: {error}") from None
    drawn = sample(params, shape, tokens, length, jax.random.key(seed), temperature)
    text = prompt + vocabulary.decode(drawn)
    out.write(text + "\n")
    return text
