"""The stratified train/test split and the standardisation fitted on the training split; see
:mod:`initlab.data` for the rules."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from initlab._checks import as_generator, check_finite_real
from initlab.data._validate import _as_float_matrix


def stratified_split(
    y: Any, test_fraction: float = 0.25, seed: Any = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a stratified split of labels ``y`` (values 0..C-1).

    Class ``c`` with ``n_c`` samples sends ``k_c = round(test_fraction n_c)`` samples, bounded to
    ``1 <= k_c <= n_c - 1``, to the test set, so every class keeps its proportion (to within
    one sample) and appears in both splits.  ``test_fraction = 0`` gives an empty test set.
    Both index arrays are shuffled with ``seed``.
    """
    f = check_finite_real("test_fraction", test_fraction, low=0.0, high=1.0, high_inclusive=False)
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu") or (y.size and y.min() < 0):
        raise ValueError("y must be a 1-D array of class labels 0..C-1")
    rng = as_generator(seed, "seed")
    train, test = [], []
    for c in range(int(y.max()) + 1 if y.size else 0):
        idx = np.flatnonzero(y == c)
        if idx.size == 0:
            continue
        k = 0
        if f > 0:
            if idx.size < 2:
                raise ValueError(
                    f"class {c} has only {idx.size} sample; a test split needs at least 2 "
                    "samples of every class (or test_fraction=0)"
                )
            k = min(max(math.floor(f * idx.size + 0.5), 1), idx.size - 1)
        idx = rng.permutation(idx)
        test.append(idx[:k])
        train.append(idx[k:])
    cat = functools.partial(np.concatenate, dtype=np.int64)
    tr = cat(train) if train else np.empty(0, np.int64)
    te = cat(test) if test else np.empty(0, np.int64)
    return rng.permutation(tr), rng.permutation(te)


def fit_standardization(X_train: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` per feature of ``X_train``: the mean and the population std, except
    that a feature constant on ``X_train`` gets ``mean`` = its value and ``scale = 1`` (it is
    centred to exactly 0, not divided by 0).  Apply as ``(X - mean) / scale``."""
    X = _as_float_matrix("X_train", X_train)
    lo, hi = X.min(axis=0), X.max(axis=0)
    const = lo == hi
    mean = np.where(const, lo, X.mean(axis=0))
    scale = np.where(const, 1.0, X.std(axis=0))
    return mean, scale
