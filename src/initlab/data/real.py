"""The two real tables shipped with scikit-learn (``digits``, ``breast_cancer``), imported only
when asked for, and the stratified subset drawn when ``n_samples`` is given."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from initlab._checks import as_generator, check_positive_int

_INSTALL_HINT = 'pip install "initlab[data]"'


def _sklearn_datasets(name: str) -> Any:
    try:
        import sklearn.datasets as skd
    except ImportError as exc:
        raise ImportError(
            f"the {name!r} data set ships with scikit-learn, which is not installed; "
            f"install it with: {_INSTALL_HINT}"
        ) from exc
    return skd


@functools.lru_cache(maxsize=4)
def _real_arrays(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    skd = _sklearn_datasets(name)
    bunch = {"digits": skd.load_digits, "breast_cancer": skd.load_breast_cancer}[name]()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y, tuple(str(f) for f in bunch.feature_names)


def _real(
    name: str, n_samples: int | None, seed: Any
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    _sklearn_datasets(name)  # the import check is never cached
    X, y, features = _real_arrays(name)
    rng = as_generator(seed, "seed")
    if n_samples is None:
        idx = np.arange(X.shape[0])
    else:
        counts = np.bincount(y)
        n = check_positive_int("n_samples", n_samples, minimum=counts.size)
        if n > X.shape[0]:
            raise ValueError(
                f"n_samples must be <= {X.shape[0]} (the size of {name!r}), got {n_samples!r}"
            )
        idx = _stratified_subset(y, _largest_remainder(counts, n), rng)
    order = rng.permutation(idx)
    return X[order], y[order], features


def digits(n_samples: int | None = None, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits of scikit-learn (UCI): 1797 images, 64 pixel features with
    values 0..16, 10 classes.  ``n_samples`` draws a stratified subset (default: all);
    the rows are shuffled with ``seed``.  Needs scikit-learn (``initlab[data]``)."""
    X, y, _ = _real("digits", n_samples, seed)
    return X, y


def breast_cancer(n_samples: int | None = None, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """The Wisconsin diagnostic breast cancer table of scikit-learn: 569 samples, 30 features,
    2 classes (0 malignant, 1 benign).  ``n_samples`` draws a stratified subset (default: all);
    the rows are shuffled with ``seed``.  Needs scikit-learn (``initlab[data]``)."""
    X, y, _ = _real("breast_cancer", n_samples, seed)
    return X, y


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integer parts of ``total`` proportional to ``counts``, each >= 1, summing to ``total``
    (Hamilton's method on the remainder after one per class)."""
    counts = np.asarray(counts, dtype=np.int64)
    spare = total - counts.size  # after one sample per class
    quota = spare * (counts - 1) / max(int(counts.sum()) - counts.size, 1)
    extra = np.floor(quota).astype(np.int64)
    largest_fraction_first = np.argsort(extra - quota, kind="stable")
    extra[largest_fraction_first[: spare - int(extra.sum())]] += 1
    return 1 + extra


def _stratified_subset(y: np.ndarray, take: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    parts = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in enumerate(take)]
    return np.concatenate(parts)
