"""Tests for initlab.data: generators, split, standardisation, user arrays, registry, grid."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from stats_helpers import KURTOSIS, check_mean, check_variance

from initlab import data

SYNTHETIC = data.available("synthetic")
GENERATORS = {name: getattr(data, name) for name in SYNTHETIC}


# --------------------------------------------------------------------------- shapes, seeds


@pytest.mark.parametrize("name", SYNTHETIC)
def test_generator_shapes_and_dtypes(name):
    X, y = GENERATORS[name](n_samples=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    assert set(np.unique(y).tolist()) == set(range(int(y.max()) + 1))


@pytest.mark.parametrize("name", SYNTHETIC)
def test_load_shapes_sizes_and_metadata(name):
    ds = data.load(name, n_samples=120, seed=1)
    assert ds.X_train.dtype == np.float64 and ds.X_test.dtype == np.float64
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.n_train + ds.n_test == 120
    assert ds.X_train.shape == (ds.n_train, ds.n_features) == (ds.n_train, 2)
    assert ds.X_test.shape == (ds.n_test, 2)
    assert ds.y_train.max() == ds.n_classes - 1 and ds.y_train.min() == 0
    assert ds.params["n_samples"] == 120 and ds.params["seed"] == 1
    assert name in repr(ds)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_generators_are_reproducible_and_seed_dependent(name):
    f = GENERATORS[name]
    X1, y1 = f(n_samples=60, seed=7)
    X2, y2 = f(n_samples=60, seed=7)
    X3, _ = f(n_samples=60, seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    # a Generator is accepted and gives the same as its seed
    X4, y4 = f(n_samples=60, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


def test_load_is_reproducible_and_seed_dependent():
    a, b = data.load("moons", seed=5), data.load("moons", seed=5)
    c = data.load("moons", seed=6)
    for attr in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    assert not np.array_equal(a.X_train, c.X_train)


def test_generators_shuffle_rows():
    _, y = data.circles(200, 0.1, 0)
    assert np.abs(np.diff(y)).sum() > 20  # not one block of class 0 then class 1


# --------------------------------------------------------------------------- class balance


@pytest.mark.parametrize(
    ("name", "kwargs", "n_classes"),
    [
        ("circles", {}, 2),
        ("moons", {}, 2),
        ("spirals", {}, 2),
        ("spirals", {"n_classes": 3}, 3),
        ("xor", {}, 2),
        ("blobs", {}, 3),
        ("blobs", {"centers": 6, "n_classes": 2}, 2),
        ("checkerboard", {"tiles": 3}, 2),
        ("linear", {}, 2),
    ],
)
@pytest.mark.parametrize("n", [100, 101, 103])
def test_classes_are_balanced(name, kwargs, n_classes, n):
    _, y = GENERATORS[name](n_samples=n, seed=0, **kwargs)
    counts = np.bincount(y)
    assert counts.size == n_classes
    assert counts.max() - counts.min() <= 1


# --------------------------------------------------------------------------- geometry


def test_circles_radii_are_one_and_factor_without_noise():
    X, y = data.circles(200, noise=0.0, seed=1, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-12)


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = data.moons(200, noise=0.0, seed=2)
    a, b = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(a[:, 0], a[:, 1]), 1.0, rtol=1e-12)
    assert np.all(a[:, 1] >= -1e-12)  # upper half
    np.testing.assert_allclose(np.hypot(b[:, 0] - 1.0, b[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(b[:, 1] <= 0.5 + 1e-12)  # lower half, shifted


@pytest.mark.parametrize(("n_classes", "turns"), [(2, 1.0), (3, 0.75)])
def test_spiral_angle_grows_with_radius(n_classes, turns):
    X, y = data.spirals(600, noise=0.0, seed=3, n_classes=n_classes, turns=turns)
    for k in range(n_classes):
        P = X[y == k]
        r = np.hypot(P[:, 0], P[:, 1])
        order = np.argsort(r)
        r = r[order]
        theta = np.unwrap(np.arctan2(P[order, 1], P[order, 0]))
        assert np.all(np.diff(theta) > 0), f"arm {k}: angle not increasing with radius"
        # slope 2 pi turns and offset 2 pi k / C, up to a whole number of turns
        slope = np.polyfit(r, theta, 1)[0]
        assert slope == pytest.approx(2 * np.pi * turns, rel=1e-9)
        offset = (theta - 2 * np.pi * turns * r - 2 * np.pi * k / n_classes) / (2 * np.pi)
        np.testing.assert_allclose(offset, np.round(offset), atol=1e-9)


def test_xor_labels_match_quadrant_signs_without_noise():
    X, y = data.xor(400, noise=0.0, seed=4, gap=0.2)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) * np.sign(X[:, 1]) < 0).astype(int))
    assert np.all(np.abs(X) >= 0.2) and np.all(np.abs(X) <= 1.0)
    quadrants = np.sign(X[:, 0]) * 2 + np.sign(X[:, 1])
    assert np.bincount((quadrants + 3).astype(int)).max() == 100  # a quarter per quadrant


def test_checkerboard_labels_are_cell_parity_without_noise():
    tiles = 5
    X, y = data.checkerboard(500, noise=0.0, seed=5, tiles=tiles)
    assert np.all(np.abs(X) <= 1.0)
    cell = np.floor((X + 1.0) * tiles / 2.0).astype(int)
    np.testing.assert_array_equal(y, cell.sum(axis=1) % 2)


@pytest.mark.parametrize("margin", [0.05, 0.3])
def test_linear_is_separable_with_the_promised_margin(margin):
    # Perceptron through the origin: on data separable with margin gamma by a line through the
    # origin, inside a ball of radius R, it makes at most (R / gamma)^2 mistakes (Novikoff).
    X, y = data.linear(300, noise=0.0, seed=6, margin=margin)
    s = 2.0 * y - 1.0
    R = np.hypot(X[:, 0], X[:, 1]).max()
    bound = math.ceil((R / margin) ** 2)
    w, mistakes = np.zeros(2), 0
    for _ in range(bound + 1):
        wrong = np.flatnonzero(s * (X @ w) <= 0)
        if wrong.size == 0:
            break
        w += s[wrong[0]] * X[wrong[0]]
        mistakes += 1
    assert np.all(s * (X @ w) > 0), "not separated by a line through the origin"
    assert mistakes <= bound
    # the margin itself: the best line through the origin (scanned over 20000 directions, an
    # angle error of at most pi/20000 costs at most R pi/20000 of margin) keeps every point at
    # least `margin` away, and the closest points come near that distance (300 uniform draws)
    phi = np.linspace(0.0, 2 * np.pi, 20000, endpoint=False)
    W = np.stack([np.cos(phi), np.sin(phi)])
    best = np.max(np.min(s[:, None] * (X @ W), axis=0))
    assert margin - R * np.pi / 20000 <= best <= margin + 0.05


def test_linear_noise_blurs_the_separating_line():
    X, y = data.linear(400, noise=1.0, seed=7)
    w = np.linalg.lstsq(X, 2.0 * y - 1.0, rcond=None)[0]
    acc = np.mean((X @ w > 0) == (y == 1))
    assert 0.6 < acc < 1.0


def test_blobs_means_and_spread_match_centers_and_cluster_std():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, -3.0, 1.0]])
    X, y = data.blobs(4000, noise=0.0, seed=8, centers=centers, cluster_std=0.7)
    assert X.shape == (4000, 3)
    for c in range(2):
        for j in range(3):
            col = X[y == c, j]
            check_mean(col, centers[c, j], 0.7)
            check_variance(col, 0.49, KURTOSIS["normal"])
    stats = pytest.importorskip("scipy.stats")
    resid = (X - centers[y]).ravel()
    assert stats.kstest(resid, "norm", args=(0.0, 0.7)).pvalue > 1e-6


def test_blobs_default_centers_are_on_the_circle_of_radius_two():
    X, y = data.blobs(3000, noise=0.0, seed=9, cluster_std=0.1)
    for j in range(3):
        m = X[y == j].mean(axis=0)
        a = 2 * np.pi * j / 3
        check_mean(X[y == j, 0], 2 * np.cos(a), 0.1)
        check_mean(X[y == j, 1], 2 * np.sin(a), 0.1)
        assert np.hypot(*m) == pytest.approx(2.0, abs=0.02)


def test_blobs_several_blobs_per_class():
    centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    X, y = data.blobs(400, noise=0.0, seed=10, centers=centers, cluster_std=0.01, n_classes=2)
    nearest = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(y, nearest % 2)


def test_noise_is_gaussian_with_std_noise():
    # blobs with cluster_std=0: every point is its center plus exactly the added noise
    X, y = data.blobs(3000, noise=0.3, seed=11, cluster_std=0.0)
    a = 2 * np.pi * y / 3
    resid = (X - 2 * np.column_stack([np.cos(a), np.sin(a)])).ravel()
    check_mean(resid, 0.0, 0.3)
    check_variance(resid, 0.09, KURTOSIS["normal"])
    stats = pytest.importorskip("scipy.stats")
    assert stats.kstest(resid, "norm", args=(0.0, 0.3)).pvalue > 1e-6


# --------------------------------------------------------------------------- split


def test_stratified_split_keeps_proportions_and_every_class():
    y = np.repeat([0, 1, 2], [90, 10, 3])
    tr, te = data.stratified_split(y, 0.25, seed=0)
    assert np.intersect1d(tr, te).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(y.size))
    n_c = np.bincount(y)
    test_counts = np.bincount(y[te], minlength=3)
    # round(0.25 n_c) per class (22.5 -> 23, 2.5 -> 3), but at least one (0.75 -> 1)
    np.testing.assert_array_equal(test_counts, [23, 3, 1])
    assert np.all(np.abs(test_counts[:2] - 0.25 * n_c[:2]) <= 0.5)
    assert np.all(np.bincount(y[tr], minlength=3) >= 1)


def test_stratified_split_is_seeded():
    y = np.repeat([0, 1], 50)
    a, b, c = (data.stratified_split(y, 0.2, s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_load_split_is_stratified():
    ds = data.load("spirals", n_samples=303, n_classes=3, test_fraction=0.2)
    np.testing.assert_array_equal(ds.class_counts("test"), [20, 20, 20])
    np.testing.assert_array_equal(ds.class_counts("train"), [81, 81, 81])


def test_test_fraction_zero_means_no_test_set():
    ds = data.load("circles", n_samples=50, test_fraction=0.0)
    assert ds.n_train == 50 and ds.n_test == 0
    assert ds.X_test.shape == (0, 2)
    assert ds.targets("test").shape == (0, 1)


# --------------------------------------------------------------------------- standardisation


def test_standardisation_uses_train_statistics_only():
    # load() draws the data and then the split from one generator made from the seed
    ds = data.load("moons", n_samples=200, noise=0.2, seed=3)
    rng = np.random.default_rng(3)
    X, y = data.moons(200, 0.2, rng)
    tr, te = data.stratified_split(y, 0.25, rng)
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0)
    np.testing.assert_allclose(ds.mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(ds.scale_, std, rtol=1e-12)
    np.testing.assert_allclose(ds.X_train, (X[tr] - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.X_test, (X[te] - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.all(np.abs(ds.X_test.mean(axis=0)) > 1e-6)  # not re-centred on the test split
    np.testing.assert_allclose(ds.inverse_transform(ds.X_test), X[te], atol=1e-12)
    np.testing.assert_allclose(ds.transform(X[te]), ds.X_test, atol=1e-12)


def test_from_arrays_with_given_test_set_scales_it_with_train_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(80, 2))
    y = np.arange(80) % 2
    Xt = X[:20] + 10.0
    ds = data.from_arrays(X, y, X_test=Xt, y_test=y[:20])
    np.testing.assert_allclose(ds.mean_, X.mean(axis=0))
    np.testing.assert_allclose(ds.X_test, (Xt - X.mean(axis=0)) / X.std(axis=0))
    assert np.all(ds.X_test.mean(axis=0) > 3.0)  # shifted by 10 / std, not re-centred
    np.testing.assert_array_equal(ds.y_train, y)  # order kept when no split is made


def test_constant_features_are_centred_not_divided_by_zero():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=40), np.full(40, 0.1), np.zeros(40)])
    y = np.arange(40) % 2
    ds = data.from_arrays(X, y)
    assert np.all(np.isfinite(ds.X_train)) and np.all(np.isfinite(ds.X_test))
    np.testing.assert_array_equal(ds.X_train[:, 1:], 0.0)
    np.testing.assert_array_equal(ds.scale_[1:], 1.0)
    assert ds.mean_[1] == 0.1


def test_no_standardisation_keeps_raw_values():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    ds = data.from_arrays(X, y, standardize=False)
    assert not ds.standardized
    np.testing.assert_array_equal(ds.mean_, 0.0)
    np.testing.assert_array_equal(ds.scale_, 1.0)
    rows = {tuple(r) for r in np.vstack([ds.X_train, ds.X_test])}
    assert rows == {tuple(r) for r in X}


# --------------------------------------------------------------------------- targets


def test_targets_binary_one_hot_and_auto():
    ds = data.load("circles", n_samples=40)
    T = ds.targets("train", "binary")
    assert T.shape == (ds.n_train, 1) and T.dtype == np.float64
    np.testing.assert_array_equal(T[:, 0], ds.y_train)
    np.testing.assert_array_equal(ds.targets(), T)
    H = ds.targets("test", "one_hot")
    assert H.shape == (ds.n_test, 2)
    np.testing.assert_array_equal(H.sum(axis=1), 1.0)
    np.testing.assert_array_equal(H.argmax(axis=1), ds.y_test)

    ds3 = data.load("blobs", n_samples=60)
    A = ds3.targets()
    assert A.shape == (ds3.n_train, 3)
    np.testing.assert_array_equal(A.argmax(axis=1), ds3.y_train)
    with pytest.raises(ValueError, match="kind='binary' needs 2 classes.*has 3"):
        ds3.targets(kind="binary")
    with pytest.raises(ValueError, match="kind='soft'"):
        ds.targets(kind="soft")
    with pytest.raises(ValueError, match="split='valid'"):
        ds.targets("valid")


# --------------------------------------------------------------------------- user arrays


def test_from_arrays_maps_string_labels_in_sorted_order():
    X = np.arange(24.0).reshape(12, 2)
    y = np.array(["dog", "cat", "emu"] * 4)
    ds = data.from_arrays(X, y, test_fraction=0.25, standardize=False)
    assert ds.class_names == ("cat", "dog", "emu")
    Xall = np.vstack([ds.X_train, ds.X_test])
    yall = np.concatenate([ds.y_train, ds.y_test])
    for row, label in zip(Xall, yall, strict=True):
        i = int(row[0] // 2)
        assert ds.class_names[label] == y[i]


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ([-1, 1] * 5, ("-1", "1")),
        ([2.0, 7.0] * 5, ("2", "7")),
        ([True, False] * 5, ("0", "1")),
        ([5, 3, 9] * 4, ("3", "5", "9")),
    ],
)
def test_from_arrays_accepts_whole_number_labels(labels, names):
    X = np.random.default_rng(0).normal(size=(len(labels), 3))
    ds = data.from_arrays(X, labels, test_fraction=0.0)
    assert ds.class_names == names
    assert ds.n_classes == len(names)
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    np.testing.assert_array_equal(ds.class_counts(), counts)


def _xy(n=20):
    return np.random.default_rng(0).normal(size=(n, 2)), np.arange(n) % 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"X": np.zeros(10)}, ValueError, r"X must be 2-D.*\(10,\)"),
        ({"X": np.zeros((20, 0))}, ValueError, r"at least one row and one column.*\(20, 0\)"),
        ({"y": np.zeros((20, 1))}, ValueError, r"y must be 1-D.*\(20, 1\)"),
        ({"y": np.arange(19) % 2}, ValueError, "X has 20 rows, y has 19 labels"),
        ({"X": np.where(np.eye(20, 2) == 1, np.nan, 0.0)}, ValueError, r"X\[0, 0\] = nan"),
        ({"X": np.full((20, 2), np.inf)}, ValueError, r"X\[0, 0\] = inf.*40 non-finite"),
        ({"y": np.r_[0.5, np.ones(19)]}, ValueError, r"y\[0\] = 0.5 is not a whole number"),
        ({"y": np.r_[np.nan, np.ones(19)]}, ValueError, r"y\[0\] = nan"),
        ({"y": [1, "a"] * 10}, ValueError, "only integer labels or only string labels"),
        ({"y": np.ones(20)}, ValueError, r"at least 2 classes, got only \[1\]"),
        ({"test_fraction": 1.0}, ValueError, "test_fraction must be < 1.0, got 1.0"),
        ({"test_fraction": -0.1}, ValueError, "test_fraction must be >= 0.0, got -0.1"),
        ({"test_fraction": float("nan")}, ValueError, "test_fraction must be a finite"),
        ({"test_fraction": "0.2"}, TypeError, "test_fraction must be a real number"),
        ({"y": np.r_[1, np.zeros(19)]}, ValueError, "class 1 has only 1 sample"),
        ({"standardize": "yes"}, TypeError, "standardize must be True or False, got 'yes'"),
        ({"name": ""}, ValueError, "name must be a non-empty string"),
        ({"X_test": np.zeros((3, 2))}, ValueError, "X_test and y_test must be given together"),
        (
            {"X_test": np.zeros((3, 3)), "y_test": [0, 1, 0]},
            ValueError,
            r"X_test must have 2 columns.*\(3, 3\)",
        ),
        (
            {"X_test": np.zeros((3, 2)), "y_test": [0, 1]},
            ValueError,
            "X_test has 3 rows, y_test has 2 labels",
        ),
        (
            {"X_test": np.zeros((3, 2)), "y_test": [0, 1, 4]},
            ValueError,
            r"y_test has label\(s\) \[4\] that do not occur in y",
        ),
    ],
)
def test_from_arrays_rejects_bad_input(kwargs, error, match):
    X, y = _xy()
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(error, match=match):
        data.from_arrays(**args)


def test_dataset_validates_its_arrays():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"y_train has no sample of class\(es\) \[2\]"):
        data.Dataset("d", X, np.array([0, 1, 0, 1]), X[:0], np.array([], int), n_classes=3)
    with pytest.raises(ValueError, match=r"y_train must hold integer class labels in 0..1"):
        data.Dataset("d", X, np.array([0, 1, 2, 1]), X[:0], np.array([], int), n_classes=2)
    with pytest.raises(ValueError, match=r"X_test must be 2-D with 2 columns"):
        data.Dataset("d", X, np.array([0, 1, 0, 1]), np.zeros((1, 3)), np.array([0]), 2)


# --------------------------------------------------------------------------- generator args


@pytest.mark.parametrize(
    ("fn", "kwargs", "error", "match"),
    [
        (data.circles, {"n_samples": 1}, ValueError, "n_samples must be an integer >= 2, got 1"),
        (data.circles, {"n_samples": 10.5}, TypeError, "n_samples must be an integer"),
        (data.circles, {"noise": -0.1}, ValueError, "noise must be >= 0.0, got -0.1"),
        (data.circles, {"factor": 1.0}, ValueError, "factor must be < 1.0, got 1.0"),
        (data.circles, {"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        (data.moons, {"noise": float("inf")}, ValueError, "noise must be a finite number"),
        (data.spirals, {"n_classes": 1}, ValueError, "n_classes must be an integer >= 2, got 1"),
        (data.spirals, {"turns": 0.0}, ValueError, "turns must be > 0.0, got 0.0"),
        (data.spirals, {"n_samples": 3, "n_classes": 4}, ValueError, "n_samples must be >= n"),
        (data.xor, {"gap": 1.0}, ValueError, "gap must be < 1.0, got 1.0"),
        (data.blobs, {"centers": 1}, ValueError, "centers must be an integer >= 2, got 1"),
        (data.blobs, {"centers": [[0.0, 1.0]]}, ValueError, r"centers must be.*\[\[0.0, 1.0\]\]"),
        (data.blobs, {"centers": "abc"}, TypeError, "centers must be an int >= 2 or an array"),
        (data.blobs, {"cluster_std": -1.0}, ValueError, "cluster_std must be >= 0.0, got -1.0"),
        (data.blobs, {"n_classes": 4}, ValueError, r"n_classes must be <= the number of cent"),
        (data.checkerboard, {"tiles": 1}, ValueError, "tiles must be an integer >= 2, got 1"),
        (data.linear, {"margin": -0.5}, ValueError, "margin must be >= 0.0, got -0.5"),
    ],
)
def test_generators_reject_bad_arguments(fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)


# --------------------------------------------------------------------------- registry, load


def test_registry_names_and_descriptions():
    assert data.DATASETS == (
        "circles",
        "moons",
        "spirals",
        "xor",
        "blobs",
        "checkerboard",
        "linear",
        "digits",
        "breast_cancer",
    )
    assert data.available() == data.DATASETS
    assert data.available("real") == ("digits", "breast_cancer")
    assert set(data.available("synthetic")) | set(data.available("real")) == set(data.DATASETS)
    for name in data.DATASETS:
        line = data.describe(name)
        assert line.startswith(f"{name}: ") and "\n" not in line
    assert "n_samples=300" in data.describe("circles")
    assert "noise=0.1" in data.describe("circles")
    assert "factor=0.5" in data.describe("circles")
    assert data.defaults("circles") == {"n_samples": 300, "noise": 0.1, "factor": 0.5}
    json.dumps(data.defaults("blobs"))


def test_load_passes_generator_parameters_and_records_them():
    ds = data.load("circles", n_samples=100, noise=0.0, factor=0.25, standardize=False)
    r = np.hypot(*ds.X_train.T)
    assert set(np.round(r, 12)) == {1.0, 0.25}
    assert ds.params == {
        "n_samples": 100,
        "noise": 0.0,
        "factor": 0.25,
        "seed": 0,
        "test_fraction": 0.25,
        "standardize": False,
    }


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("cirles",), {}, ValueError, r"name='cirles' is not allowed; choose one of: circles,"),
        (("circles",), {"factr": 0.2}, ValueError, r"'factr' for data set 'circles'.*factor"),
        (("moons",), {"factor": 0.2}, ValueError, r"'factor' for data set 'moons'.*none of its"),
        (("circles",), {"seed": -3}, ValueError, "seed must be a non-negative integer, got -3"),
        (("circles",), {"seed": 1.5}, ValueError, "seed must be a non-negative integer, got 1.5"),
        (("circles",), {"test_fraction": 1.5}, ValueError, "test_fraction must be < 1.0"),
        (("circles",), {"n_samples": 0}, ValueError, "n_samples must be an integer >= 2, got 0"),
        (("circles",), {"n_samples": 3}, ValueError, "class 1 has only 1 sample"),
        (("circles",), {"factor": "big"}, TypeError, "factor must be a real number, got 'big'"),
        (("circles",), {"standardize": 1}, TypeError, "standardize must be True or False"),
    ],
)
def test_load_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load(*args, **kwargs)


def test_to_dict_is_json_and_has_no_arrays():
    ds = data.load("blobs", n_samples=90, centers=np.array([[0.0, 0.0], [3.0, 3.0]]))
    d = ds.to_dict()
    text = json.dumps(d)
    back = json.loads(text)
    assert back["n_train"] == ds.n_train and back["n_test"] == ds.n_test
    assert back["n_classes"] == 2 and back["n_features"] == 2
    assert back["params"]["centers"] == [[0.0, 0.0], [3.0, 3.0]]
    assert sum(back["class_counts"]["train"]) == ds.n_train
    assert len(text) < 2000


def test_import_does_not_load_sklearn():
    code = "import sys, initlab.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- real data


def test_digits_loads_with_ten_classes_and_64_features():
    pytest.importorskip("sklearn")
    ds = data.load("digits")
    assert ds.n_features == 64 and ds.n_classes == 10
    assert ds.n_train + ds.n_test == 1797
    assert np.all(ds.class_counts("test") >= 1)
    assert len(ds.feature_names) == 64
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.min() == 0 and X.max() == 16
    assert np.bincount(y).size == 10
    # constant pixels (always 0 in the training split) stay finite and 0
    assert np.all(np.isfinite(ds.X_train)) and np.any(ds.scale_ == 1.0)


def test_breast_cancer_loads_binary_with_30_features():
    pytest.importorskip("sklearn")
    ds = data.load("breast_cancer", test_fraction=0.2, seed=1)
    assert ds.n_features == 30 and ds.n_classes == 2
    assert ds.n_train + ds.n_test == 569
    assert ds.targets().shape == (ds.n_train, 1)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-12)


def test_real_subset_is_stratified_and_exact():
    pytest.importorskip("sklearn")
    X, y = data.breast_cancer(n_samples=100, seed=2)
    full = np.bincount(data.breast_cancer()[1])
    assert X.shape == (100, 30)
    assert np.all(np.abs(np.bincount(y) - 100 * full / full.sum()) <= 1)
    ds = data.load("digits", n_samples=300, seed=3)
    assert ds.n_train + ds.n_test == 300 and ds.params["n_samples"] == 300
    with pytest.raises(ValueError, match="n_samples must be <= 569.*got 1000"):
        data.breast_cancer(n_samples=1000)
    with pytest.raises(ValueError, match=r"noise is not used by the real data set 'digits'"):
        data.load("digits", noise=0.1)


def test_real_data_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "initlab\[data\]"'):
        data.load("digits")
    with pytest.raises(ImportError, match="breast_cancer"):
        data.breast_cancer()


# --------------------------------------------------------------------------- decision grid


def test_decision_grid_covers_the_data_with_a_margin():
    X = np.array([[0.0, -1.0], [2.0, 3.0], [1.0, 0.0]])
    xx, yy, P = data.decision_grid(X, steps=11, margin=0.5)
    assert xx.shape == yy.shape == (11, 11) and P.shape == (121, 2)
    assert xx.min() == -0.5 and xx.max() == 2.5
    assert yy.min() == -1.5 and yy.max() == 3.5
    np.testing.assert_array_equal(P[:, 0].reshape(xx.shape), xx)
    np.testing.assert_array_equal(P[:, 1].reshape(yy.shape), yy)
    assert np.all(np.diff(xx[0]) > 0) and np.all(np.diff(yy[:, 0]) > 0)


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "match"),
    [
        (np.zeros((5, 3)), {}, ValueError, r"2 features.*\(5, 3\)|shape \(5, 3\)"),
        (np.zeros(5), {}, ValueError, r"X must be 2-D"),
        (np.zeros((5, 2)), {"steps": 1}, ValueError, "steps must be an integer >= 2, got 1"),
        (np.zeros((5, 2)), {"margin": -1.0}, ValueError, "margin must be >= 0.0, got -1.0"),
    ],
)
def test_decision_grid_rejects_bad_input(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        data.decision_grid(X, **kwargs)
