"""The :class:`Dataset` (a train/test pair with its standardisation) and ``_make``, which
builds one from split arrays, standardising on the training split."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import check_choice, check_positive_int
from initlab._json import jsonable
from initlab.data._validate import _as_float_matrix
from initlab.data.split import fit_standardization

SPLITS = ("train", "test")
TARGET_KINDS = ("auto", "binary", "one_hot")


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test pair of arrays with what is needed to read them.

    ``X_*`` are float64 ``(m, d)``, ``y_*`` int64 ``(m,)`` with values in ``0 .. n_classes-1``;
    every class is present in the training split.  ``mean_`` and ``scale_`` (``(d,)``) are the
    standardisation applied to both splits, ``X = (X_raw - mean_) / scale_`` (zeros and ones when
    the data was not standardised).  ``params`` records how the data set was made (JSON-ready).
    The arrays are not copied or frozen: treat them as read-only.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    feature_names: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    description: str = ""
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    standardized: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        C = check_positive_int("n_classes", self.n_classes, minimum=2)
        put("n_classes", C)
        Xtr = _as_float_matrix("X_train", self.X_train)
        d = Xtr.shape[1]
        Xte = np.asarray(self.X_test, dtype=np.float64)
        if Xte.size == 0 and Xte.ndim != 2:
            Xte = Xte.reshape(0, d)
        Xte = _as_float_matrix("X_test", Xte, allow_empty=True)
        if Xte.shape[1] != d:
            raise ValueError(
                f"X_test must be 2-D with {d} columns like X_train, got shape {Xte.shape}"
            )
        put("X_train", Xtr)
        put("X_test", Xte)
        for split, X in (("train", Xtr), ("test", Xte)):
            y = np.asarray(getattr(self, f"y_{split}"))
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"y_{split} must be 1-D with {X.shape[0]} labels (one per row of "
                    f"X_{split}), got shape {y.shape}"
                )
            if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= C):
                raise ValueError(
                    f"y_{split} must hold integer class labels in 0..{C - 1}, got values "
                    f"{np.unique(y)[:10].tolist()}"
                )
            put(f"y_{split}", y.astype(np.int64, copy=False))
        missing = np.setdiff1d(np.arange(C), self.y_train)
        if missing.size:
            raise ValueError(f"y_train has no sample of class(es) {missing.tolist()}")
        mean = np.zeros(d) if self.mean_ is None else np.asarray(self.mean_, dtype=np.float64)
        scale = np.ones(d) if self.scale_ is None else np.asarray(self.scale_, dtype=np.float64)
        for nm, v in (("mean_", mean), ("scale_", scale)):
            if v.shape != (d,):
                raise ValueError(f"{nm} must have shape ({d},), got {v.shape}")
        put("mean_", mean)
        put("scale_", scale)
        for nm in ("feature_names", "class_names"):
            v = getattr(self, nm)
            if v is not None:
                v = tuple(str(s) for s in v)
                want = d if nm == "feature_names" else C
                if len(v) != want:
                    raise ValueError(f"{nm} must have {want} entries, got {len(v)}")
                put(nm, v)

    # ------------------------------------------------------------------ sizes

    @property
    def n_features(self) -> int:
        """Number of input features ``d``."""
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples (0 when the data set has no test split)."""
        return int(self.X_test.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_features={self.n_features}, n_classes={self.n_classes})"
        )

    # ------------------------------------------------------------------ access

    def arrays(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of one split, ``"train"`` or ``"test"``."""
        check_choice("split", split, SPLITS)
        return (self.X_train, self.y_train) if split == "train" else (self.X_test, self.y_test)

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Number of samples of each class in one split, shape ``(n_classes,)``."""
        _, y = self.arrays(split)
        return np.bincount(y, minlength=self.n_classes)

    def targets(self, split: str = "train", kind: str = "auto") -> np.ndarray:
        """The labels of one split encoded for a loss, as float64.

        * ``"binary"``: ``T[i, 0] = y[i]`` in {0, 1}, shape ``(m, 1)``, for a single sigmoid
          output; only for two classes.
        * ``"one_hot"``: ``T[i, c] = 1 if y[i] == c else 0``, shape ``(m, n_classes)``.
        * ``"auto"``: ``"binary"`` for two classes, ``"one_hot"`` otherwise.
        """
        check_choice("kind", kind, TARGET_KINDS)
        _, y = self.arrays(split)
        if kind == "auto":
            kind = "binary" if self.n_classes == 2 else "one_hot"
        if kind == "binary":
            if self.n_classes != 2:
                raise ValueError(
                    f"kind='binary' needs 2 classes, but {self.name!r} has {self.n_classes}; "
                    "use kind='one_hot'"
                )
            return y.astype(np.float64).reshape(-1, 1)
        T = np.zeros((y.shape[0], self.n_classes))
        T[np.arange(y.shape[0]), y] = 1.0
        return T

    # ------------------------------------------------------------------ coordinates

    def transform(self, X_raw: Any) -> np.ndarray:
        """Raw coordinates to the model's: ``(X_raw - mean_) / scale_``."""
        X = _as_float_matrix("X_raw", X_raw, allow_empty=True)
        self._check_width(X, "X_raw")
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X: Any) -> np.ndarray:
        """The model's coordinates back to raw ones: ``X * scale_ + mean_``."""
        X = _as_float_matrix("X", X, allow_empty=True)
        self._check_width(X, "X")
        return X * self.scale_ + self.mean_

    def _check_width(self, X: np.ndarray, name: str) -> None:
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} must have {self.n_features} columns for {self.name!r}, got shape {X.shape}"
            )

    # ------------------------------------------------------------------ reports

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no arrays): name, sizes, classes, parameters used."""
        return {
            "name": self.name,
            "description": self.description,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "class_counts": {s: self.class_counts(s).tolist() for s in SPLITS},
            "class_names": None if self.class_names is None else list(self.class_names),
            "feature_names": None if self.feature_names is None else list(self.feature_names),
            "standardized": self.standardized,
            "params": jsonable(self.params),
        }


def _make(
    name: str,
    Xtr: np.ndarray,
    ytr: np.ndarray,
    Xte: np.ndarray,
    yte: np.ndarray,
    n_classes: int,
    standardize: bool,
    **extra: Any,
) -> Dataset:
    if standardize:
        mean, scale = fit_standardization(Xtr)
        Xtr = (Xtr - mean) / scale
        Xte = (Xte - mean) / scale
    else:
        mean, scale = np.zeros(Xtr.shape[1]), np.ones(Xtr.shape[1])
    return Dataset(
        name=name,
        X_train=np.ascontiguousarray(Xtr),
        y_train=ytr,
        X_test=np.ascontiguousarray(Xte),
        y_test=yte,
        n_classes=n_classes,
        mean_=mean,
        scale_=scale,
        standardized=bool(standardize),
        **extra,
    )
