"""The synthetic 2-D generators, pure functions ``(n_samples, noise, seed, *, own) -> (X, y)``;
see :mod:`initlab.data` for their conventions."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab._checks import as_generator, check_finite_real, check_positive_int


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
