"""Small real data sets that ship inside the package (no download), and users' own.

Bundled:

- ``digits``: the UCI optical handwritten digits, 1,797 8x8 images of 0-9
  (Alpaydin & Kaynak, UCI Machine Learning Repository, CC BY 4.0). Pixels
  0-16 are scaled to [0, 1].
- ``breast_cancer``: the Breast Cancer Wisconsin (Diagnostic) data, 569
  tumours described by 30 real features, benign or malignant (Wolberg,
  Street & Mangasarian, UCI Machine Learning Repository, CC BY 4.0).
  Features are standardised with the training split's mean and deviation.

A user's own data set is an ``.npz`` file with an array ``x`` (one example
per row, any trailing shape, real and finite in float32) and an integer
array ``y`` of labels 0..k-1, where k (the class count) is at most 4096 and
at most the number of examples. The file is read without trusting it
(``_npz.read_npz``).
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fromax.lab._npz import read_npz

__all__ = ["DATASETS", "MAX_CLASSES", "Dataset", "batch_indices", "load_dataset", "load_digits"]


def batch_indices(n_examples: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The rows of the training set in batch ``step`` (0-based), a pure function.

    Example:
        >>> from fromax.lab._data import batch_indices
        >>> a = batch_indices(10, 4, seed=0, step=3)
        >>> (a == batch_indices(10, 4, seed=0, step=3)).all(), len(a)
        (np.True_, 4)
    """
    per_epoch = n_examples // batch_size
    epoch, i = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_examples)
    return order[i * batch_size : (i + 1) * batch_size]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A classification data set split into train and test arrays.

    Attributes:
        x_train: float32 inputs, one example per row (images keep their shape).
        y_train: int32 labels.
        x_test: float32 inputs.
        y_test: int32 labels.
        num_classes: the number of labels.
        name: where it came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    name: str = ""

    # What the training loop asks of any data (text too: ``_text.TextData``).
    held_out_name: ClassVar[str] = "test"
    order_rule: ClassVar[str] = (
        "batch t = rows t*B..(t+1)*B of numpy default_rng([seed, epoch]).permutation(n)"
    )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example."""
        return self.x_train.shape[1:]

    def check_batch(self, batch_size: int) -> None:
        """A one-line error unless ``batch_size`` examples can be drawn without repeats."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if batch_size > len(self.x_train):
            raise ValueError(
                f"batch_size {batch_size} is larger than the {len(self.x_train)} training examples"
            )

    def index(self, batch_size: int, seed: int, step: int) -> np.ndarray:
        """What picks batch ``step`` out of :meth:`train_arrays`: its rows."""
        return batch_indices(len(self.x_train), batch_size, seed, step)

    def train_arrays(self) -> tuple[np.ndarray, ...]:
        return (self.x_train, self.y_train)

    def gather(self, arrays: tuple[Any, ...], index: Any) -> tuple[Any, Any]:
        """``(x, y)`` of the batch ``index`` picks; NumPy or (inside jit) JAX arrays."""
        x, y = arrays
        return x[index], y[index]

    def batch(self, batch_size: int, seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``step`` (0-based) of the training set: ``(x, y)``.

        Example:
            >>> from fromax.lab._data import load_digits
            >>> x, y = load_digits().batch(32, seed=0, step=5)
            >>> x.shape, y.shape
            ((32, 8, 8), (32,))
        """
        return self.gather(self.train_arrays(), self.index(batch_size, seed, step))

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """The test split, ``(x, y)``."""
        return self.x_test, self.y_test

    def held_out_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """What the loss every ``--eval-every`` steps is measured on: the whole test split."""
        return self.held_out()

    def train_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The examples the final training loss is measured on: all of them."""
        return self.x_train, self.y_train


def _split(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def _bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    with resources.files("fromax.lab").joinpath(f"data/{name}.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as arrays:
            return arrays["x"], arrays["y"]


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The UCI digits: 8x8 images scaled to [0, 1], split by ``seed``.

    Example:
        >>> from fromax.lab._data import load_digits
        >>> data = load_digits()
        >>> data.x_train.shape, data.x_test.shape, data.num_classes
        ((1438, 8, 8), (359, 8, 8), 10)
    """
    x, y = _bundled("digits")
    x = x.astype(np.float32) / 16.0
    return Dataset(*_split(x, y.astype(np.int32), test_fraction, seed), 10, "digits")


def load_breast_cancer(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Breast Cancer Wisconsin: 30 standardised features, 2 classes, split by ``seed``.

    Example:
        >>> from fromax.lab._data import load_breast_cancer
        >>> data = load_breast_cancer()
        >>> data.x_train.shape, data.num_classes
        ((455, 30), 2)
    """
    x, y = _bundled("breast_cancer")
    x_train, y_train, x_test, y_test = _split(
        x.astype(np.float32), y.astype(np.int32), test_fraction, seed
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    return Dataset(
        (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, 2, "breast_cancer"
    )


DATASETS = {"digits": load_digits, "breast_cancer": load_breast_cancer}


MAX_CLASSES = 4096
"""The most classes a data file may have (its largest label + 1)."""


def _check_features(path: Path, x: np.ndarray) -> np.ndarray:
    """``x`` as float32: real numbers, one example per row, finite in float32."""
    if np.iscomplexobj(x):
        raise ValueError(
            f"{path}: x is complex ({x.dtype}); the models take real features: "
            "store the real and imaginary parts as separate features"
        )
    if x.ndim < 2 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(
            f"{path}: x must be a numeric array with one example per row, got "
            f"{x.dtype}{list(x.shape)}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        features = x.astype(np.float32)
    if not np.isfinite(features).all():
        where = "NaN or infinite values" if not np.isfinite(x).all() else "values beyond float32"
        raise ValueError(
            f"{path}: x holds {where}; the models compute in float32 (|x| < 3.4e38): "
            "drop or rescale those examples"
        )
    return features


def _check_labels(path: Path, y: np.ndarray, n_examples: int) -> np.ndarray:
    """``y`` as int32: one integer label per example, 0 <= label < a sensible class count."""
    if y.ndim != 1 or len(y) != n_examples or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{path}: y must be {n_examples} integer labels (one per row of x), got "
            f"{y.dtype}{list(y.shape)}"
        )
    if n_examples < 2:
        raise ValueError(f"{path}: needs at least 2 examples, got {n_examples}")
    low, high = int(y.min()), int(y.max())
    if low < 0:
        raise ValueError(f"{path}: labels must be >= 0 (classes 0..k-1), found {low}")
    limit = min(MAX_CLASSES, n_examples)
    if high >= limit:
        raise ValueError(
            f"{path}: a label of {high} means {high + 1} classes, more than the "
            f"{MAX_CLASSES} allowed or the {n_examples} examples; labels must be 0..k-1 "
            "with k at most both: renumber the classes"
        )
    return y.astype(np.int32)


def _load_file(path: Path, test_fraction: float, seed: int) -> Dataset:
    if not path.is_file():
        raise ValueError(
            f"no data set named {str(path)!r}: use one of {', '.join(DATASETS)} "
            "or the path of an .npz file with arrays x and y"
        )
    arrays = read_npz(path, ("x", "y"))
    x = _check_features(path, arrays["x"])
    y = _check_labels(path, arrays["y"], len(x))
    split = _split(x, y, test_fraction, seed)
    return Dataset(*split, int(y.max()) + 1, str(path))


def load_dataset(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """A bundled data set by name, or a user's ``.npz`` file by path.

    Args:
        name: ``"digits"``, ``"breast_cancer"``, or a path to an ``.npz``
            file with arrays ``x`` and ``y``.
        test_fraction: the share held out for testing.
        seed: fixes the train/test split.

    Returns:
        A :class:`Dataset`.

    Example:
        >>> from fromax.lab._data import load_dataset
        >>> load_dataset("breast_cancer").x_test.shape
        (114, 30)
    """
    if name in DATASETS:
        return DATASETS[name](test_fraction=test_fraction, seed=seed)
    return _load_file(Path(name), test_fraction, seed)
