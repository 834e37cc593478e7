"""A :class:`~initlab.data.dataset.Dataset` from the user's own arrays (:func:`from_arrays`)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab._checks import check_finite_real
from initlab.data._validate import _as_float_matrix
from initlab.data.dataset import Dataset, _make
from initlab.data.split import stratified_split


def _label_values(name: str, y: Any) -> np.ndarray:
    """``y`` as a 1-D array of integer or string labels; fractional or non-finite floats fail,
    and so does a mix of strings and numbers."""
    arr = np.asarray(y) if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {arr.shape}")
    if arr.dtype.kind == "O":
        vals = arr.tolist()
        if all(isinstance(v, str) for v in vals):
            return arr.astype(str)
        if not all(isinstance(v, numbers.Real) for v in vals):
            raise ValueError(
                f"{name} must hold only integer labels or only string labels, got a mix of "
                f"{sorted({type(v).__name__ for v in vals})}"
            )
        if all(isinstance(v, numbers.Integral) for v in vals):  # bools included
            return arr.astype(np.int64)
        arr = arr.astype(np.float64)
    kind = arr.dtype.kind
    if kind in "US":
        return arr.astype(str)
    if kind in "iub":
        return arr.astype(np.int64)
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} must hold class labels (integers or strings), but {name}[{i}] = "
                f"{arr[i].item()} is not a whole number"
            )
        return arr.astype(np.int64)
    raise TypeError(f"{name} must hold integer or string class labels, got dtype {arr.dtype}")


def from_arrays(
    X: Any,
    y: Any,
    name: str = "custom",
    test_fraction: float = 0.25,
    seed: Any = 0,
    standardize: bool = True,
    X_test: Any = None,
    y_test: Any = None,
    feature_names: Sequence[str] | None = None,
) -> Dataset:
    """A :class:`Dataset` from your own arrays.

    ``X`` is ``(m, d)`` finite numbers; ``y`` has ``m`` labels, integers or strings (floats
    only if whole), mapped to ``0..C-1`` in sorted order (``class_names`` keeps the originals);
    at least two classes.  Without ``X_test``/``y_test`` the data is split with
    :func:`stratified_split` (``0 <= test_fraction < 1``; 0 means no test set).  With them, no
    split is made, ``test_fraction`` is not used, and every test label must occur in ``y``.
    ``standardize`` fits :func:`fit_standardization` on the training split only.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not isinstance(standardize, bool | np.bool_):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    Xa = _as_float_matrix("X", X)
    labels = _label_values("y", y)
    if labels.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"y must have one label per row of X: X has {Xa.shape[0]} rows, y has "
            f"{labels.shape[0]} labels"
        )
    classes, yi = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"y must contain at least 2 classes, got only {classes.tolist()!r} "
            f"({labels.shape[0]} samples)"
        )
    yi = yi.astype(np.int64).reshape(-1)
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together (or neither)")
    f = check_finite_real("test_fraction", test_fraction, low=0.0, high=1.0, high_inclusive=False)
    if X_test is None:
        tr, te = stratified_split(yi, f, seed)
        Xtr, ytr, Xte, yte = Xa[tr], yi[tr], Xa[te], yi[te]
    else:
        Xtr, ytr = Xa, yi
        Xte = _as_float_matrix("X_test", X_test, allow_empty=True)
        if Xte.shape[1] != Xa.shape[1]:
            raise ValueError(
                f"X_test must have {Xa.shape[1]} columns like X, got shape {Xte.shape}"
            )
        lt = _label_values("y_test", y_test)
        if lt.shape[0] != Xte.shape[0]:
            raise ValueError(
                f"y_test must have one label per row of X_test: X_test has {Xte.shape[0]} "
                f"rows, y_test has {lt.shape[0]} labels"
            )
        if lt.size and lt.dtype.kind != classes.dtype.kind:
            raise ValueError(
                f"y_test labels must be of the same kind as y ({classes.dtype}), got {lt.dtype}"
            )
        unknown = np.setdiff1d(lt, classes)
        if unknown.size:
            raise ValueError(
                f"y_test has label(s) {unknown[:10].tolist()!r} that do not occur in y "
                f"(classes: {classes.tolist()!r})"
            )
        yte = np.searchsorted(classes, lt).astype(np.int64)
    return _make(
        name,
        Xtr,
        ytr,
        Xte,
        yte,
        int(classes.size),
        standardize,
        feature_names=feature_names,
        class_names=tuple(str(c) for c in classes.tolist()),
        description=f"user arrays: {Xa.shape[0]} samples, {Xa.shape[1]} features",
        params={
            "n_samples": int(Xa.shape[0]) + (0 if X_test is None else int(Xte.shape[0])),
            "seed": int(seed) if isinstance(seed, numbers.Integral) else None,
            "test_fraction": f if X_test is None else None,
            "standardize": bool(standardize),
        },
    )
