"""Text for a character-level language model: the bundled Shakespeare or a user's file.

- ``shakespeare``: about 1.1 MB of Shakespeare's plays (public domain), as
  collected for char-rnn (Karpathy, MIT licence); credited in
  ``fromax/lab/data/README.md``. 65 distinct characters.
- A user's own text is any UTF-8 file.

Tokens are characters: the vocabulary is the text's distinct characters in
code-point order, so the same text always gives the same token numbers. The
split is fixed: the last 10% of the text is validation. Training batches are
random windows whose positions are a pure function of (seed, step), as the
classifiers' batches are (``_train.batch_indices``), so a resumed run sees
the batches an uninterrupted one would.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

__all__ = [
    "TEXTS",
    "Corpus",
    "TextData",
    "Vocabulary",
    "disjoint_windows",
    "load_corpus",
    "read_text",
    "train_batch",
    "validation_loss",
    "validation_windows",
    "window_starts",
    "windows",
]

TEXTS = ("shakespeare",)
"""The bundled texts, by name."""


def _bundled_shakespeare() -> str:
    data = resources.files("fromax.lab").joinpath("data/tinyshakespeare.txt.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8")


def read_text(name: str) -> str:
    """The bundled text ``name``, or the UTF-8 text of the file at path ``name``.

    Example:
        >>> from fromax.lab._text import read_text
        >>> read_text("shakespeare")[:14]
        'First Citizen:'
    """
    if name == "shakespeare":
        return _bundled_shakespeare()
    path = Path(name)
    if not path.is_file():
        raise ValueError(
            f"no text named {name!r}: use one of {', '.join(TEXTS)} "
            "or the path of a UTF-8 text file"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {error.start} is {raw[error.start]:#04x}); "
            "convert it to UTF-8 or pick a text file"
        ) from None
    if "\0" in text:
        raise ValueError(f"{path} holds NUL bytes, so it is not a text file; pick a text file")
    if not text:
        raise ValueError(f"{path} is empty; a language model needs a text to learn")
    return text


class Vocabulary(NamedTuple):
    """The characters of a text, in code-point order; token ``i`` is ``characters[i]``.

    Example:
        >>> from fromax.lab._text import Vocabulary
        >>> vocab = Vocabulary.from_text("hello")
        >>> vocab.characters, vocab.size
        ('ehlo', 4)
        >>> vocab.encode("hole").tolist(), vocab.decode([2, 1])
        ([1, 3, 2, 0], 'lh')
    """

    characters: str

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls("".join(chr(c) for c in np.unique(_code_points(text))))

    @property
    def size(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> np.ndarray:
        """The int32 tokens of ``text``; every character must be in the vocabulary."""
        codes = _code_points(text)
        known = _code_points(self.characters)
        tokens = np.searchsorted(known, codes).astype(np.int32)
        unknown = codes != known[np.minimum(tokens, len(known) - 1)]
        if unknown.any():
            missing = "".join(sorted({chr(c) for c in codes[unknown]}))
            raise ValueError(
                f"the text holds characters the vocabulary lacks: {missing!r}; "
                "use only characters of the training text"
            )
        return tokens

    def decode(self, tokens: Any) -> str:
        """The text of a sequence of tokens."""
        return "".join(self.characters[int(t)] for t in np.asarray(tokens).reshape(-1))


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class Corpus(NamedTuple):
    """A text as tokens, split for training and validation.

    Attributes:
        train: int32 tokens, the first 90% of the text.
        validation: int32 tokens, the last 10%.
        vocabulary: the characters, from the whole text.
        name: where it came from.
    """

    train: np.ndarray
    validation: np.ndarray
    vocabulary: Vocabulary
    name: str


def load_corpus(name: str) -> Corpus:
    """A bundled text by name, or a user's text file by path, tokenised and split.

    The first ``len * 9 // 10`` characters are training; the rest is validation.

    Example:
        >>> from fromax.lab._text import load_corpus
        >>> corpus = load_corpus("shakespeare")
        >>> len(corpus.train), len(corpus.validation), corpus.vocabulary.size
        (1003854, 111540, 65)
    """
    text = read_text(name)
    vocabulary = Vocabulary.from_text(text)
    tokens = vocabulary.encode(text)
    cut = len(tokens) * 9 // 10
    return Corpus(tokens[:cut], tokens[cut:], vocabulary, name)


def _check_length(n_tokens: int, context: int, what: str) -> None:
    if context <= 0:
        raise ValueError(f"context must be positive, got {context}")
    if n_tokens < context + 1:
        raise ValueError(
            f"the {what} split has {n_tokens} characters; a context of {context} needs at least "
            f"{context + 1}: use a longer text or a smaller context"
        )


def window_starts(n_tokens: int, context: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Where batch ``step``'s windows start, a pure function of (seed, step).

    Each window takes ``context + 1`` tokens (the inputs and, one further on,
    their targets); the starts are drawn uniformly, with replacement.

    Example:
        >>> from fromax.lab._text import window_starts
        >>> a = window_starts(1000, 64, 4, seed=0, step=7)
        >>> (a == window_starts(1000, 64, 4, seed=0, step=7)).all(), a.shape, a.max() <= 935
        (np.True_, (4,), np.True_)
    """
    _check_length(n_tokens, context, "training")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng = np.random.default_rng([seed, step])
    return rng.integers(0, n_tokens - context, size=batch_size)


def windows(tokens: Any, starts: Any, context: int) -> tuple[Any, Any]:
    """``(inputs, targets)``, each ``[len(starts), context]``: targets are inputs one token on.

    Works on NumPy arrays and (inside ``jit``) on JAX arrays.

    Example:
        >>> import numpy as np
        >>> from fromax.lab._text import windows
        >>> x, y = windows(np.arange(10), np.array([0, 5]), 3)
        >>> x.tolist(), y.tolist()
        ([[0, 1, 2], [5, 6, 7]], [[1, 2, 3], [6, 7, 8]])
    """
    rows = tokens[starts[:, None] + np.arange(context + 1)[None, :]]
    return rows[:, :-1], rows[:, 1:]


def train_batch(
    tokens: np.ndarray, context: int, batch_size: int, seed: int, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """Batch ``step`` (0-based) of training windows: ``(inputs, targets)``, int32.

    Example:
        >>> import numpy as np
        >>> from fromax.lab._text import train_batch
        >>> x, y = train_batch(np.arange(100, dtype=np.int32), 8, 2, seed=0, step=0)
        >>> x.shape, bool((y[:, :-1] == x[:, 1:]).all())
        ((2, 8), True)
    """
    return windows(tokens, window_starts(len(tokens), context, batch_size, seed, step), context)


def validation_windows(
    tokens: np.ndarray, context: int, count: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed set of ``count`` validation windows, evenly spaced over the split.

    Fewer when the split has fewer distinct windows. Every position of a
    window is predicted, from the 1 to ``context`` characters before it, so
    512 windows of 64 characters are 32,768 predictions; the Shakespeare
    validation split (111,540 characters) has about 1,700 disjoint windows.
    With the default GPT, evaluating 512 took 3% of the time of the 250
    training steps between two evaluations (measured on 2 shared cores).

    Example:
        >>> import numpy as np
        >>> from fromax.lab._text import validation_windows
        >>> x, y = validation_windows(np.arange(20), 4, count=3)
        >>> x[:, 0].tolist(), y[-1].tolist()
        ([0, 8, 15], [16, 17, 18, 19])
    """
    _check_length(len(tokens), context, "validation")
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    last = len(tokens) - context - 1
    starts = np.unique(np.linspace(0, last, min(count, last + 1)).round().astype(np.int64))
    return windows(tokens, starts, context)


def disjoint_windows(tokens: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of the split, side by side: starts 0, ``context``, ``2 context``, ...

    Each token after the first is a target exactly once (up to the last
    ``context`` or fewer, which fill no whole window), so the mean loss over
    these windows is the loss of the whole split: the Shakespeare validation
    split (111,540 characters) gives 1,742 windows of 64. Evaluating them
    took about 5 s with the default GPT on 2 cores.

    Example:
        >>> import numpy as np
        >>> from fromax.lab._text import disjoint_windows
        >>> x, y = disjoint_windows(np.arange(11), 3)
        >>> x.tolist(), y[:, -1].tolist()
        ([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [3, 6, 9])
    """
    _check_length(len(tokens), context, "validation")
    starts = np.arange(0, len(tokens) - context, context)
    return windows(tokens, starts, context)


# One compiled evaluation per loss function and chunk shape, reused across calls.
_mean_loss = jax.jit(lambda loss_fn, params, x, y: loss_fn(params, x, y), static_argnums=0)


def validation_loss(
    loss_fn: Callable[[Any, Any, Any], Any],
    params: Any,
    inputs: np.ndarray,
    targets: np.ndarray,
    chunk: int = 64,
) -> float:
    """The mean of ``loss_fn`` over every position of the windows, ``chunk`` windows at a time.

    ``loss_fn(params, inputs, targets)`` returns the mean loss of a chunk;
    chunks are weighted by their sizes, so the result is the mean over all
    windows. ``loss_fn`` is a static argument of a jitted function: pass the
    same object each time (not a fresh ``functools.partial``) to compile once.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> from fromax.lab._text import validation_loss
        >>> mse = lambda p, x, y: jnp.mean((p * x - y) ** 2)
        >>> x = np.ones((5, 2), np.float32)
        >>> validation_loss(mse, 1.0, x, np.arange(5.0)[:, None] * x, chunk=2)
        3.0
    """
    total, count = 0.0, 0
    for i in range(0, len(inputs), chunk):
        x, y = inputs[i : i + chunk], targets[i : i + chunk]
        total += float(_mean_loss(loss_fn, params, x, y)) * len(x)
        count += len(x)
    return total / count


class TextData:
    """A corpus in windows of ``context`` tokens, with the methods the training loop uses.

    The classifiers' :class:`~fromax.lab._data.Dataset` has the same ones:
    ``batch(batch_size, seed, step)`` gives ``(inputs, targets)``, each
    ``[batch, context]``, and the targets are one token on. ``held_out()``
    is the whole validation split (:func:`disjoint_windows`), for the final
    validation loss; ``held_out_sample()`` is ``evaluation_windows`` of its
    windows, evenly spaced (:func:`validation_windows`), for the loss every
    ``--eval-every`` steps; ``train_sample()`` as many windows spread over
    the training split, for the final training loss.

    Example:
        >>> from fromax.lab._text import TextData, load_corpus
        >>> data = TextData(load_corpus("shakespeare"), context=8, evaluation_windows=16)
        >>> x, y = data.batch(4, seed=0, step=0)
        >>> x.shape, data.input_shape, data.num_classes, data.held_out_sample()[0].shape
        ((4, 8), (8,), 65, (16, 8))
        >>> data.held_out()[0].shape  # 111,540 characters in windows of 8
        (13942, 8)
    """

    held_out_name = "validation"
    order_rule = "batch t = windows at numpy default_rng([seed, t]).integers(0, n - context, B)"

    def __init__(self, corpus: Corpus, context: int, evaluation_windows: int = 512) -> None:
        _check_length(len(corpus.train), context, "training")
        _check_length(len(corpus.validation), context, "validation")
        self.corpus, self.context = corpus, context
        self.name, self.num_classes = corpus.name, corpus.vocabulary.size
        self.input_shape = (context,)
        self._held_out = disjoint_windows(corpus.validation, context)
        self._held_out_sample = validation_windows(corpus.validation, context, evaluation_windows)
        self._train_sample = validation_windows(corpus.train, context, evaluation_windows)

    def check_batch(self, batch_size: int) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")

    def index(self, batch_size: int, seed: int, step: int) -> np.ndarray:
        """What picks batch ``step`` out of :meth:`train_arrays`: its windows' starts."""
        return window_starts(len(self.corpus.train), self.context, batch_size, seed, step)

    def train_arrays(self) -> tuple[np.ndarray]:
        return (self.corpus.train,)

    def gather(self, arrays: tuple[Any], index: Any) -> tuple[Any, Any]:
        """``(inputs, targets)`` of the windows starting at ``index``; NumPy or JAX."""
        return windows(arrays[0], index, self.context)

    def batch(self, batch_size: int, seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        return self.gather(self.train_arrays(), self.index(batch_size, seed, step))

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        return self._held_out

    def held_out_sample(self) -> tuple[np.ndarray, np.ndarray]:
        return self._held_out_sample

    def train_sample(self) -> tuple[np.ndarray, np.ndarray]:
        return self._train_sample
