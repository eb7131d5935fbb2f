"""The bundled Shakespeare, users' text files, the vocabulary, the split and the batches."""

from __future__ import annotations

import hashlib

import jax.numpy as jnp
import numpy as np
import pytest

from fromax.lab._text import (
    Vocabulary,
    load_corpus,
    read_text,
    train_batch,
    validation_loss,
    validation_windows,
    window_starts,
    windows,
)

SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


@pytest.fixture(scope="module")
def shakespeare():
    return read_text("shakespeare")


def test_the_bundled_text_is_the_reference_file(shakespeare):
    assert hashlib.sha256(shakespeare.encode("utf-8")).hexdigest() == SHAKESPEARE_SHA256
    assert len(shakespeare) == 1115394


def test_the_split_is_fixed_and_validation_is_the_last_tenth(shakespeare):
    corpus = load_corpus("shakespeare")
    # 1,115,394 characters: 1,003,854 (9/10, rounded down) train, 111,540 validation.
    assert (len(corpus.train), len(corpus.validation)) == (1003854, 111540)
    assert corpus.train.dtype == np.int32 and corpus.validation.dtype == np.int32
    assert corpus.vocabulary.decode(corpus.validation) == shakespeare[-111540:]
    assert corpus.vocabulary.decode(corpus.train[:14]) == "First Citizen:"
    # The 65 characters in code-point order: newline, space, punctuation, capitals, small.
    vocab = corpus.vocabulary.characters
    assert len(vocab) == 65 and list(vocab) == sorted(set(shakespeare))
    assert vocab[:2] == "\n " and vocab[-26:] == "abcdefghijklmnopqrstuvwxyz"
    assert corpus.vocabulary.encode("a").tolist() == [39]


def test_vocabulary_round_trip_and_unknown_characters():
    vocab = Vocabulary.from_text("zébra\n")
    assert vocab.characters == "\nabrzé"
    tokens = vocab.encode("ébaz")
    assert tokens.tolist() == [5, 2, 1, 4] and tokens.dtype == np.int32
    assert vocab.decode(tokens) == "ébaz"
    assert vocab.decode(jnp.asarray([[1, 3]])) == "ar"
    with pytest.raises(ValueError, match=r"characters the vocabulary lacks: 'QÜ'"):
        vocab.encode("aÜQa")


def test_a_users_text_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("Ode à la mer.\n" * 20, encoding="utf-8")
    corpus = load_corpus(str(path))
    assert corpus.vocabulary.characters == "\n .Oadelmrà"
    assert (len(corpus.train), len(corpus.validation)) == (252, 28)
    assert corpus.name == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"caf\xe9", r"not UTF-8 text \(byte 3 is 0xe9\)"),
        (b"PK\x03\x04\x00\x00", "holds NUL bytes"),
    ],
)
def test_unreadable_text_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_text(str(path))


def test_a_missing_text_is_named():
    with pytest.raises(ValueError, match=r"no text named 'nope\.txt': use one of shakespeare"):
        read_text("nope.txt")


def test_batches_are_a_pure_function_of_seed_and_step():
    tokens = np.arange(1000, dtype=np.int32) * 7 % 991
    x, y = train_batch(tokens, 16, 8, seed=3, step=5)
    x2, y2 = train_batch(tokens, 16, 8, seed=3, step=5)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == y.shape == (8, 16) and x.dtype == np.int32
    # Each row is the tokens from its start; targets are the inputs one token on.
    starts = window_starts(1000, 16, 8, seed=3, step=5)
    for row, start in zip(x, starts, strict=True):
        np.testing.assert_array_equal(row, tokens[start : start + 16])
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(y[:, -1], tokens[starts + 16])
    # Another step or seed draws other windows; every window fits.
    assert not np.array_equal(starts, window_starts(1000, 16, 8, seed=3, step=6))
    assert not np.array_equal(starts, window_starts(1000, 16, 8, seed=4, step=5))
    many = np.concatenate([window_starts(1000, 16, 64, 0, t) for t in range(50)])
    assert many.min() == 0 and many.max() == 1000 - 16 - 1


def test_windows_gather_jax_arrays_too():
    x, y = windows(jnp.arange(10), jnp.asarray([2, 6]), 3)
    assert x.tolist() == [[2, 3, 4], [6, 7, 8]] and y.tolist() == [[3, 4, 5], [7, 8, 9]]


def test_too_short_a_text_for_the_context_is_named():
    with pytest.raises(ValueError, match="the training split has 10 characters; a context of 10"):
        train_batch(np.arange(10), 10, 2, seed=0, step=0)
    with pytest.raises(ValueError, match="the validation split has 5 characters"):
        validation_windows(np.arange(5), 8)


def test_validation_windows_are_fixed_and_span_the_split():
    tokens = np.arange(1000, dtype=np.int32)
    x, y = validation_windows(tokens, 10, count=100)
    assert x.shape == (100, 10)
    # Evenly spaced starts 0, 9.8989..., ..., 989: the first and last windows are the split's ends.
    assert x[0, 0] == 0 and y[-1, -1] == 999
    np.testing.assert_array_equal(x[:, 0], np.round(np.linspace(0, 989, 100)))
    few, _ = validation_windows(np.arange(12), 10, count=100)
    assert few[:, 0].tolist() == [0, 1]  # only two windows of 11 tokens fit in 12


def test_validation_loss_is_the_mean_over_all_windows():
    def mean_abs(params, x, y):
        return jnp.mean(jnp.abs(params * x - y))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = rng.normal(size=(10, 4)).astype(np.float32)
    expected = np.mean(np.abs(2.0 * x.astype(np.float64) - y))
    # Chunks of 4, 4 and 2: weighted by their sizes, not averaged as equals.
    assert validation_loss(mean_abs, 2.0, x, y, chunk=4) == pytest.approx(expected, rel=1e-6)
