"""Data sets: small synthetic 2-D problems and two real tables, all offline, all seeded.

Everything here is plain NumPy: ``X`` is float64 ``(m, d)``, ``y`` is int64 ``(m,)`` with class
labels ``0 .. C-1``.  One entry point serves the CLI, the study and the web page::

    from initlab import data
    ds = data.load("circles", n_samples=300, noise=0.1, seed=0)
    ds.X_train.shape, ds.n_classes            # (224, 2), 2
    T = ds.targets("train")                    # (224, 1) 0/1 floats for a sigmoid output
    xx, yy, P = data.decision_grid(ds.X_train) # a mesh for decision-boundary plots

Conventions
-----------
* **Generators** (``circles``, ``moons``, ``spirals``, ``xor``, ``blobs``, ``checkerboard``,
  ``linear``) are pure functions ``(n_samples, noise, seed, *, <own parameters>) -> (X, y)``.
  Every random number, the final shuffle included, comes from one ``numpy.random.Generator``
  made from ``seed`` (an int, or a Generator to draw from).  ``noise`` is the std of Gaussian
  noise added independently to every coordinate *after* the labels are fixed, so at
  ``noise=0`` each generator's geometry holds exactly.  Class sizes differ by at most one
  unless a parameter makes that impossible.
* **Real data** (``digits``, ``breast_cancer``) ships inside scikit-learn (optional extra
  ``initlab[data]``), which is imported only when one of them is asked for.
* **Split**: stratified.  Class ``c`` with ``n_c`` samples sends
  ``k_c = round(test_fraction * n_c)`` samples to the test set, bounded to ``1 <= k_c <= n_c - 1``
  so that every class appears in both splits.  ``test_fraction = 0`` is allowed and means no
  test set (``X_test`` has shape ``(0, d)``); ``test_fraction`` must be ``< 1``.
* **Standardisation**: ``x' = (x - mean) / scale`` with ``mean`` and ``scale`` (population std)
  computed on the training split only and applied to both splits.  A feature that is constant
  on the training split gets ``scale = 1``: it is centred (to exactly 0 on the training split),
  never divided by zero.  ``Dataset.mean_`` and ``Dataset.scale_`` keep the parameters, and
  ``Dataset.transform`` / ``Dataset.inverse_transform`` map between raw and model coordinates.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import as_generator, check_choice, check_finite_real, check_positive_int
from initlab._json import jsonable

__all__ = [
    "DATASETS",
    "Dataset",
    "available",
    "blobs",
    "breast_cancer",
    "checkerboard",
    "circles",
    "decision_grid",
    "defaults",
    "describe",
    "digits",
    "fit_standardization",
    "from_arrays",
    "linear",
    "load",
    "moons",
    "spirals",
    "stratified_split",
    "xor",
]

SPLITS = ("train", "test")
TARGET_KINDS = ("auto", "binary", "one_hot")
_INSTALL_HINT = 'pip install "initlab[data]"'


# =========================================================================== the Dataset


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


# =========================================================================== generators


def _generator_args(n_samples: Any, noise: Any, seed: Any, min_samples: int = 2):
    n = check_positive_int("n_samples", n_samples, minimum=min_samples)
    s = check_finite_real("noise", noise, low=0.0)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool | np.bool_) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")
    return n, s, as_generator(seed, "seed")


def _counts(n: int, k: int) -> np.ndarray:
    """``n`` split into ``k`` groups as evenly as possible (the first ``n % k`` get one more)."""
    return np.full(k, n // k) + (np.arange(k) < n % k)


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add ``N(0, noise^2)`` to every coordinate, then shuffle the rows."""
    if noise > 0:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(X.shape[0])
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order].astype(np.int64)


def circles(
    n_samples: int = 300, noise: float = 0.1, seed: Any = 0, *, factor: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles (like scikit-learn's ``make_circles``).

    Class 0 (``ceil(n/2)`` points): ``x = (cos t, sin t)``; class 1: ``x = factor (cos t, sin t)``;
    ``t ~ U[0, 2 pi)``, then ``N(0, noise^2)`` per coordinate.  ``0 <= factor < 1`` is the
    inner/outer radius ratio.  Not linearly separable: the boundary is a circle.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    f = check_finite_real("factor", factor, low=0.0, high=1.0, high_inclusive=False)
    counts = _counts(n, 2)
    y = np.repeat([0, 1], counts)
    r = np.where(y == 0, 1.0, f)
    t = rng.uniform(0.0, 2.0 * np.pi, size=n)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)])
    return _finish(X, y, s, rng)


def moons(n_samples: int = 300, noise: float = 0.1, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (like scikit-learn's ``make_moons``).

    Class 0: ``x = (cos t, sin t)``; class 1: ``x = (1 - cos t, 1/2 - sin t)``; ``t ~ U[0, pi]``,
    then ``N(0, noise^2)`` per coordinate.  Each moon's tip reaches into the other's hollow.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    y = np.repeat([0, 1], _counts(n, 2))
    t = rng.uniform(0.0, np.pi, size=n)
    c, sn = np.cos(t), np.sin(t)
    X = np.where((y == 0)[:, None], np.column_stack([c, sn]), np.column_stack([1 - c, 0.5 - sn]))
    return _finish(X, y, s, rng)


def spirals(
    n_samples: int = 400,
    noise: float = 0.05,
    seed: Any = 0,
    *,
    n_classes: int = 2,
    turns: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms.

    Arm ``k`` has points at radius ``r ~ U[0, 1]`` and angle
    ``theta = 2 pi turns r + 2 pi k / n_classes``: ``x = r (cos theta, sin theta)``, then
    ``N(0, noise^2)`` per coordinate.  The angle grows with the radius along every arm; the
    arms are ``1 / (turns n_classes)`` apart radially.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    C = check_positive_int("n_classes", n_classes, minimum=2)
    if n < C:
        raise ValueError(f"n_samples must be >= n_classes={C} for spirals, got {n_samples!r}")
    w = check_finite_real("turns", turns, low=0.0, low_inclusive=False)
    y = np.repeat(np.arange(C), _counts(n, C))
    r = rng.uniform(0.0, 1.0, size=n)
    theta = 2.0 * np.pi * (w * r + y / C)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return _finish(X, y, s, rng)


def xor(
    n_samples: int = 300, noise: float = 0.1, seed: Any = 0, *, gap: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrant clusters labelled like exclusive-or.

    Each quadrant gets a quarter of the points, uniform on a square inside it:
    ``|x1|, |x2| ~ U[gap, 1]`` with the quadrant's signs, ``0 <= gap < 1`` keeping the clusters
    apart.  The label is ``y = (1 - sign(x1) sign(x2)) / 2``: 0 where the signs agree (first and
    third quadrant), 1 where they differ.  Then ``N(0, noise^2)`` per coordinate, which can move
    a point across an axis.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    g = check_finite_real("gap", gap, low=0.0, high=1.0, high_inclusive=False)
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)
    q = np.repeat(np.arange(4), _counts(n, 4))
    X = rng.uniform(g, 1.0, size=(n, 2)) * signs[q]
    y = (q % 2).astype(np.int64)  # quadrants 0 and 2 have equal signs
    return _finish(X, y, s, rng)


def blobs(
    n_samples: int = 300,
    noise: float = 0.0,
    seed: Any = 0,
    *,
    centers: int | Sequence[Sequence[float]] = 3,
    cluster_std: float = 0.5,
    n_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs.

    Blob ``j`` (``n / k`` points each) is ``N(c_j, cluster_std^2 I)``.  ``centers`` is a count
    ``k`` (the centers are then spread evenly on the circle of radius 2, ``c_j = 2 (cos 2 pi j/k,
    sin 2 pi j/k)``, so the default is the same problem for every seed) or an array ``(k, d)``
    of centers in any dimension ``d``.  Blob ``j`` belongs to class ``j mod n_classes``
    (default: one class per blob).  ``noise`` adds ``N(0, noise^2)`` on top (default 0).

    With one blob per class the Bayes boundaries are straight lines, so this is the easy,
    multi-class set; ``n_classes < k`` puts several blobs in one class and makes it non-linear.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool | np.bool_):
        k = check_positive_int("centers", centers, minimum=2)
        a = 2.0 * np.pi * np.arange(k) / k
        C_ = 2.0 * np.column_stack([np.cos(a), np.sin(a)])
    else:
        try:
            C_ = np.asarray(centers, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"centers must be an int >= 2 or an array (k, d) of numbers, got {centers!r}"
            ) from exc
        if C_.ndim != 2 or C_.shape[0] < 2 or C_.shape[1] < 1 or not np.all(np.isfinite(C_)):
            raise ValueError(
                f"centers must be an int >= 2 or a finite array of shape (k >= 2, d >= 1), "
                f"got {centers!r}"
            )
        k = C_.shape[0]
    sd = check_finite_real("cluster_std", cluster_std, low=0.0)
    C = k if n_classes is None else check_positive_int("n_classes", n_classes, minimum=2)
    if C > k:
        raise ValueError(f"n_classes must be <= the number of centers ({k}), got {n_classes!r}")
    if n < k:
        raise ValueError(f"n_samples must be >= the number of centers ({k}), got {n_samples!r}")
    j = np.repeat(np.arange(k), _counts(n, k))
    X = C_[j] + rng.normal(0.0, 1.0, size=(n, C_.shape[1])) * sd
    return _finish(X, j % C, s, rng)


def checkerboard(
    n_samples: int = 800, noise: float = 0.0, seed: Any = 0, *, tiles: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Points on the square ``[-1, 1]^2`` cut into ``tiles x tiles`` cells, labelled by parity.

    Cell ``(i, j) = (floor((x1 + 1) tiles / 2), floor((x2 + 1) tiles / 2))`` has label
    ``(i + j) mod 2``.  Each class gets half the points, spread uniformly over its own cells
    (for odd ``tiles`` class 0 has one cell more, so it is slightly less dense).  Then
    ``N(0, noise^2)`` per coordinate.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    T = check_positive_int("tiles", tiles, minimum=2)
    ij = np.array([(i, j) for i in range(T) for j in range(T)])
    parity = ij.sum(axis=1) % 2
    y = np.repeat([0, 1], _counts(n, 2))
    X = np.empty((n, 2))
    for c in (0, 1):
        cells = ij[parity == c]
        pick = cells[rng.integers(0, cells.shape[0], size=int(np.sum(y == c)))]
        corner = -1.0 + 2.0 * pick / T
        X[y == c] = corner + rng.uniform(0.0, 2.0 / T, size=pick.shape)
    return _finish(X, y, s, rng)


def linear(
    n_samples: int = 300, noise: float = 0.0, seed: Any = 0, *, margin: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable: two rectangles on either side of a random line through the origin.

    With a random unit normal ``w = (cos phi, sin phi)``, ``phi ~ U[0, 2 pi)``, and ``v`` the unit
    vector along the line, a point is ``x = u w + t v`` with ``t ~ U[-1, 1]`` and
    ``u ~ U[margin, margin + 1]`` for class 1, ``u ~ -U[margin, margin + 1]`` for class 0.  At
    ``noise = 0`` every point is at least ``margin`` from the line ``w . x = 0`` and
    ``y = [w . x > 0]``.  Then ``N(0, noise^2)`` per coordinate.
    """
    n, s, rng = _generator_args(n_samples, noise, seed)
    m = check_finite_real("margin", margin, low=0.0)
    phi = rng.uniform(0.0, 2.0 * np.pi)
    w = np.array([np.cos(phi), np.sin(phi)])
    v = np.array([-w[1], w[0]])
    y = np.repeat([0, 1], _counts(n, 2))
    u = (2.0 * y - 1.0) * (m + rng.uniform(0.0, 1.0, size=n))
    t = rng.uniform(-1.0, 1.0, size=n)
    X = u[:, None] * w + t[:, None] * v
    return _finish(X, y, s, rng)


# =========================================================================== real data


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


# =========================================================================== split, scale


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


# =========================================================================== user arrays


def _as_float_matrix(name: str, X: Any, allow_empty: bool = False) -> np.ndarray:
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {type(X).__name__}") from exc
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {A.shape}")
    if A.shape[1] == 0 or (A.shape[0] == 0 and not allow_empty):
        raise ValueError(f"{name} must have at least one row and one column, got shape {A.shape}")
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite, but {name}[{r}, {c}] = {A[r, c]} "
            f"({int(bad.sum())} non-finite value(s))"
        )
    return A


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


# =========================================================================== registry


@dataclass(frozen=True)
class _Entry:
    fn: Callable[..., tuple[np.ndarray, np.ndarray]]
    summary: str
    real: bool = False
    n_classes: int | None = None  # fixed class count of a real set


_REGISTRY: dict[str, _Entry] = {
    "circles": _Entry(circles, "two concentric circles; inner radius = factor x outer"),
    "moons": _Entry(moons, "two interleaving half circles"),
    "spirals": _Entry(spirals, "n_classes interleaved spiral arms, angle growing with radius"),
    "xor": _Entry(xor, "four quadrant clusters, label = exclusive-or of the coordinate signs"),
    "blobs": _Entry(blobs, "isotropic Gaussian blobs, one class per blob by default"),
    "checkerboard": _Entry(checkerboard, "uniform points on a square, label = cell parity"),
    "linear": _Entry(linear, "linearly separable: two sides of a random line, with a margin"),
    "digits": _Entry(digits, "8x8 handwritten digits (scikit-learn), 64 features", True, 10),
    "breast_cancer": _Entry(
        breast_cancer, "Wisconsin breast cancer (scikit-learn), 30 features", True, 2
    ),
}

DATASETS: tuple[str, ...] = tuple(_REGISTRY)
"""Every data set name :func:`load` accepts."""

_COMMON = ("n_samples", "noise", "seed")


def available(kind: str | None = None) -> tuple[str, ...]:
    """Names of the data sets: all, or only ``kind="synthetic"`` or ``kind="real"``."""
    if kind is None:
        return DATASETS
    check_choice("kind", kind, ("synthetic", "real"))
    return tuple(n for n, e in _REGISTRY.items() if e.real == (kind == "real"))


def _entry(name: Any) -> _Entry:
    check_choice("name", name, DATASETS)
    return _REGISTRY[name]


def defaults(name: str) -> dict[str, Any]:
    """The default parameters of a data set, ``n_samples`` and ``noise`` first (JSON-ready)."""
    e = _entry(name)
    sig = inspect.signature(e.fn).parameters
    out = {p: sig[p].default for p in ("n_samples", "noise") if p in sig}
    out.update({k: p.default for k, p in sig.items() if p.kind is inspect.Parameter.KEYWORD_ONLY})
    return jsonable(out)


def describe(name: str) -> str:
    """One line: the data set's name, what it is, and its default parameters."""
    e = _entry(name)
    d = defaults(name)
    ps = ", ".join(f"{k}={'all' if v is None and k == 'n_samples' else v}" for k, v in d.items())
    kind = "real" if e.real else "synthetic"
    return f"{name}: {e.summary} [{kind}; {ps}]"


def _own_params(e: _Entry) -> tuple[str, ...]:
    return tuple(
        k
        for k, p in inspect.signature(e.fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    )


def load(
    name: str,
    n_samples: int | None = None,
    noise: float | None = None,
    seed: int = 0,
    test_fraction: float = 0.25,
    standardize: bool = True,
    **params: Any,
) -> Dataset:
    """Make or load data set ``name`` and return it split and (by default) standardised.

    ``n_samples`` and ``noise`` default to the data set's own defaults (see :func:`describe`);
    for the real sets ``n_samples`` draws a stratified subset and ``noise`` must stay None
    (or 0).  ``params`` are the generator's own parameters (e.g. ``factor`` for circles).  One
    generator made from ``seed`` draws the data and then the split, so the same arguments
    always give the same arrays.  See the module docstring for the split and standardisation.
    """
    e = _entry(name)
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if not isinstance(standardize, bool | np.bool_):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    f = check_finite_real("test_fraction", test_fraction, low=0.0, high=1.0, high_inclusive=False)
    own = _own_params(e)
    unknown = sorted(set(params) - set(own))
    if unknown:
        has = f"its own parameters are: {', '.join(own)}" if own else "it has none of its own"
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for data set {name!r}; "
            f"{has} (besides {', '.join(_COMMON)}, test_fraction, standardize)"
        )
    used = defaults(name)
    rng = np.random.default_rng(seed)
    if e.real:
        if noise is not None and noise != 0:
            raise ValueError(f"noise is not used by the real data set {name!r}, got {noise!r}")
        X, y, feats = _real(name, n_samples, rng)
        used["n_samples"] = int(X.shape[0])
        used["noise"] = None
        classes = e.n_classes or int(y.max()) + 1
    else:
        if n_samples is not None:
            used["n_samples"] = n_samples
        if noise is not None:
            used["noise"] = noise
        used.update(params)
        X, y = e.fn(used["n_samples"], used["noise"], rng, **{k: used[k] for k in own})
        feats = tuple(f"x{i + 1}" for i in range(X.shape[1]))
        classes = int(y.max()) + 1
    tr, te = stratified_split(y, f, rng)
    used.update(seed=seed, test_fraction=f, standardize=bool(standardize))
    return _make(
        name,
        X[tr],
        y[tr],
        X[te],
        y[te],
        classes,
        bool(standardize),
        feature_names=feats,
        description=e.summary,
        params=used,
    )


# =========================================================================== plotting grid


def decision_grid(
    X: Any, steps: int = 100, margin: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``steps x steps`` mesh over the range of 2-D data, for decision-boundary plots.

    ``xx[i, j] = linspace(min x1 - margin, max x1 + margin, steps)[j]`` and likewise ``yy`` along
    ``i`` (``numpy.meshgrid``); ``points`` is ``(steps^2, 2)`` = ``(xx.ravel(), yy.ravel())``, so
    ``predict(points).reshape(xx.shape)`` lines up with the mesh.  ``margin`` is in data units.
    """
    A = _as_float_matrix("X", X)
    if A.shape[1] != 2:
        raise ValueError(
            f"decision_grid needs 2-D points (X of shape (m, 2)), got shape {A.shape}; "
            "a decision boundary can only be drawn for 2 features"
        )
    n = check_positive_int("steps", steps, minimum=2)
    m = check_finite_real("margin", margin, low=0.0)
    lo, hi = A.min(axis=0) - m, A.max(axis=0) + m
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


# =========================================================================== helpers
