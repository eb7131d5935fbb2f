"""Small real data sets that ship inside the package (no download)."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

__all__ = ["Dataset", "load_digits"]


class Dataset(NamedTuple):
    """A classification data set split into train and test arrays.

    Attributes:
        x_train: float32 inputs, one row per example.
        y_train: int32 labels.
        x_test: float32 inputs.
        y_test: int32 labels.
        num_classes: the number of labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The UCI optical handwritten digits: 1,797 8x8 images of 0-9.

    Pixels (0-16) are scaled to [0, 1] and flattened to 64 features. The
    split is a fixed permutation drawn from ``seed``.

    Source: Alpaydin & Kaynak, UCI Machine Learning Repository, "Optical
    Recognition of Handwritten Digits" (CC BY 4.0).

    Args:
        test_fraction: the share of examples held out for testing, in (0, 1).
        seed: the seed of the split.

    Returns:
        A :class:`Dataset`.

    Example:
        >>> from fromax._data import load_digits
        >>> data = load_digits()
        >>> data.x_train.shape, data.x_test.shape, data.num_classes
        ((1438, 64), (359, 64), 10)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    with resources.files("fromax").joinpath("data/digits.npz").open("rb") as f:
        arrays = np.load(f, allow_pickle=False)
        x = arrays["x"].reshape(len(arrays["x"]), -1).astype(np.float32) / 16.0
        y = arrays["y"].astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return Dataset(x[train], y[train], x[test], y[test], 10)
