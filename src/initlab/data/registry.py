"""The registry of data set names and the one entry point :func:`load` (with
:func:`available`, :func:`defaults`, :func:`describe`)."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab._checks import check_choice, check_finite_real
from initlab._json import jsonable
from initlab.data.dataset import Dataset, _make
from initlab.data.generators import blobs, checkerboard, circles, linear, moons, spirals, xor
from initlab.data.real import _real, breast_cancer, digits
from initlab.data.split import stratified_split


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
    always give the same arrays.  See :mod:`initlab.data` for the split and standardisation.
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
