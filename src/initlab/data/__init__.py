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

Layout
------
Every name above is importable from ``initlab.data``; the code lives in ``dataset``
(:class:`Dataset`), ``generators``, ``real`` (scikit-learn tables), ``split`` (split and
standardisation), ``user`` (:func:`from_arrays`), ``registry`` (:func:`load` and the name
look-ups) and ``grid`` (:func:`decision_grid`).
"""

from initlab.data.dataset import Dataset
from initlab.data.generators import blobs, checkerboard, circles, linear, moons, spirals, xor
from initlab.data.grid import decision_grid
from initlab.data.real import breast_cancer, digits
from initlab.data.registry import DATASETS, available, defaults, describe, load
from initlab.data.split import fit_standardization, stratified_split
from initlab.data.user import from_arrays

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
