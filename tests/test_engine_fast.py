"""The compiled training loop (initlab._fast) against the NumPy reference engine.

Every test trains the same network twice from the same start, once with ``engine="fast"``
(the compiled loop takes the stretches no probe watches) and once with
``engine="reference"``, in float64, and requires the costs of every step and the final
parameters to agree to 1e-12 (relative to the largest parameter, at least 1).  The two
engines sum in different orders, so they differ by rounding: about 1e-16 per operation, grown
by the steps of training; 1e-12 leaves room for that over the few dozen steps here while any
wrong term of a gradient or update (at least ~1e-3 relative after one step at these learning
rates) fails by orders of magnitude.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

pytest.importorskip("numba")

from initlab import _fast  # noqa: E402
from initlab.activations import Activation  # noqa: E402
from initlab.network import init_network  # noqa: E402
from initlab.optim import GradientDescent, get_optimizer  # noqa: E402
from initlab.train import Schedule, Trainer, fit  # noqa: E402

TOL = 1e-12

HIDDEN = (
    "linear",
    "relu",
    "leaky_relu:0.2",
    "tanh",
    "sigmoid",
    "elu:1.5",
    "selu",
    "gelu",
    "silu",
    "softplus",
    "mish",
)
OPTIMIZERS = (
    ("gd", 0.1, {}),
    ("momentum", 0.05, {"beta": 0.8}),
    ("nesterov", 0.05, {"beta": 0.9}),
    ("rmsprop", 0.003, {"rho": 0.95, "eps": 1e-7}),
    ("adam", 0.003, {"beta1": 0.8, "beta2": 0.99, "eps": 1e-8}),
)


def _data(rng: np.random.Generator, m: int, n_in: int, n_out: int, loss: str) -> tuple:
    X = rng.normal(size=(m, n_in))
    if loss == "cross_entropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=m)]
    elif loss == "binary_cross_entropy":
        Y = (rng.random((m, n_out)) < 0.5).astype(float)
    else:
        Y = rng.normal(size=(m, n_out))
    return X, Y


def _twins(net, X, Y, **kw) -> tuple[Trainer, Trainer]:
    fast = Trainer(net.copy(), X, Y, **kw)
    fast.engine = "fast"
    ref = Trainer(net.copy(), X, Y, **kw)
    ref.engine = "reference"
    return fast, ref


def _assert_same(fast: Trainer, ref: Trainer, c_fast: np.ndarray, c_ref: np.ndarray) -> None:
    assert c_fast.shape == c_ref.shape
    fin = np.isfinite(c_ref)
    assert np.array_equal(c_fast[~fin], c_ref[~fin], equal_nan=True)  # NaN after a stop, inf
    assert np.max(np.abs(c_fast[fin] - c_ref[fin]), initial=0.0) <= TOL * max(
        1.0, np.max(np.abs(c_ref[fin]), initial=0.0)
    )
    scale = max(1.0, max(float(np.max(np.abs(p))) for p in ref.net.params))
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(fast.net.params, ref.net.params, strict=True)
    )
    assert diff <= TOL * scale, f"parameters differ by {diff:.3e} (scale {scale:.3g})"
    assert fast.diverged_at == ref.diverged_at
    assert fast.step == ref.step
    assert fast.state["t"] == ref.state["t"]


def _random_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    loss = ("binary_cross_entropy", "cross_entropy", "mse")[seed % 3]
    depth = int(rng.integers(1, 5))
    n_out = {"binary_cross_entropy": 1 + seed % 2, "cross_entropy": 3, "mse": 2}[loss]
    sizes = [int(rng.integers(1, 6))] + [int(rng.integers(1, 13)) for _ in range(depth - 1)]
    if seed % 4 == 0:  # a layer of >= 32 x 32 weights goes through ?gemm
        sizes.append(40)
        sizes.append(33)
    sizes.append(n_out)
    hidden = [HIDDEN[int(i)] for i in rng.integers(0, len(HIDDEN), size=len(sizes) - 2)]
    out = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(
        loss, ("linear", "tanh")[seed % 2]
    )
    name, lr, params = OPTIMIZERS[seed % len(OPTIMIZERS)]
    m = int(rng.integers(20, 60))
    X, Y = _data(rng, m, sizes[0], n_out, loss)
    return {
        "sizes": sizes,
        "hidden": hidden,
        "out": out,
        "loss": loss,
        "opt": get_optimizer(name, lr, **params),
        "population": int(rng.integers(1, 4)),
        "batch_size": None if seed % 3 else int(rng.integers(7, m)),
        "X": X,
        "Y": Y,
        "seed": seed,
    }


@pytest.mark.parametrize("seed", range(15))
def test_random_architectures_match_the_reference_engine(seed: int) -> None:
    c = _random_case(seed)
    net = init_network(
        c["sizes"],
        c["hidden"],
        c["out"],
        "xavier_normal",
        "random_normal:std=0.1",
        population=c["population"],
        seed=seed,
    )
    fast, ref = _twins(
        net, c["X"], c["Y"], loss=c["loss"], optimizer=c["opt"], batch_size=c["batch_size"]
    )
    assert fast._fast_plan(1) is not None  # the compiled loop does apply here
    c_fast = np.concatenate([fast.run(40), fast.run(17)], axis=1)  # chunks continue exactly
    c_ref = ref.run(57)
    _assert_same(fast, ref, c_fast, c_ref)
    assert np.isfinite(c_ref).all()


@pytest.mark.parametrize(
    ("hidden", "batch_size"),
    [
        (("relu", "relu", "leaky_relu:0.2"), None),  # activations overwrite their z in place
        (("relu", "leaky_relu:-0.5", "linear"), 23),  # a negative slope keeps z; ragged batches
        (("tanh", "sigmoid", "gelu"), 30),
    ],
)
def test_blas_layers_match_the_reference_engine(hidden: tuple, batch_size: int | None) -> None:
    # every hidden layer has >= 32 x 32 weights, so all its products go through ?gemm; 70
    # examples in batches of 23 (23, 23, 23, 1) or 30 (30, 30, 10) give batches narrower than
    # the scratch rows, which the products read through their leading dimension
    rng = np.random.default_rng(5)
    X, Y = _data(rng, 70, 3, 2, "mse")
    net = init_network([3, 40, 36, 33, 2], list(hidden), "linear", population=2, seed=2)
    assert all(a * b >= _fast.BLAS_LAYER for a, b in [(40, 36), (36, 33)])
    fast, ref = _twins(net, X, Y, loss="mse", lr=0.02, batch_size=batch_size)
    c_fast = np.concatenate([fast.run(11), fast.run(20)], axis=1)
    _assert_same(fast, ref, c_fast, ref.run(31))
    assert np.isfinite(c_fast).all()


@pytest.mark.parametrize("batch_size", [None, 260])
def test_products_in_pieces_match_the_reference_engine(batch_size: int | None) -> None:
    # 64 x 64 layers on 300 (or 260 + 40) examples: ?gemm runs in pieces of the batch's rows
    # (forward, dA) and of the inputs (dW), ragged ones included
    from initlab._fast_blas import batch_piece, weight_piece

    assert batch_piece(300, 64, 64) == 150 and batch_piece(260, 64, 64) == 130
    assert batch_piece(40, 64, 64) == 40 and weight_piece(300, 64, 64) == 16
    rng = np.random.default_rng(6)
    X, Y = _data(rng, 300, 3, 2, "mse")
    net = init_network([3, 64, 64, 64, 2], "relu", "linear", seed=3)
    fast, ref = _twins(net, X, Y, loss="mse", lr=0.01, batch_size=batch_size)
    c_fast = np.concatenate([fast.run(7), fast.run(8)], axis=1)
    _assert_same(fast, ref, c_fast, ref.run(15))
    assert np.isfinite(c_fast).all()


def test_float32_runs_match_to_float32_rounding() -> None:
    rng = np.random.default_rng(3)
    X, Y = _data(rng, 300, 2, 1, "binary_cross_entropy")
    net = init_network([2, 10, 5, 1], dtype=np.float32, population=4, seed=1)
    fast, ref = _twins(net, X, Y, lr=0.1)
    c_fast, c_ref = fast.run(100), ref.run(100)
    assert fast.net.dtype == np.float32
    # float32 rounding (6e-8 relative) grown over 100 steps: 1e-4 is ~1000 ulp of the cost
    np.testing.assert_allclose(c_fast, c_ref, rtol=1e-4)
    for a, b in zip(fast.net.params, ref.net.params, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_divergence_stops_only_that_member_at_the_same_step() -> None:
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 50, 3, 1, "mse")
    net = init_network([3, 8, 8, 1], "relu", "linear", population=3, seed=0)
    lr = np.array([0.01, 30.0, 0.02])  # member 1 blows up
    fast, ref = _twins(net, X, Y, loss="mse", lr=lr)
    c_fast, c_ref = fast.run(200), ref.run(200)
    _assert_same(fast, ref, c_fast, c_ref)
    assert ref.diverged_at[1] is not None and ref.diverged_at[0] is None
    assert list(fast.active) == [True, False, True]
    assert np.all(np.isfinite(fast.net.weights[0][1]))  # the non-finite update was not applied


def test_when_every_member_stops_the_run_ends_at_the_same_step() -> None:
    rng = np.random.default_rng(1)
    X, Y = _data(rng, 40, 2, 1, "mse")
    net = init_network([2, 6, 1], "tanh", "linear", population=2, seed=0)
    fast, ref = _twins(net, X, Y, loss="mse", lr=np.array([50.0, 80.0]))
    c_fast, c_ref = fast.run(500), ref.run(500)
    assert c_ref.shape[1] < 500  # the reference stopped early...
    _assert_same(fast, ref, c_fast, c_ref)  # ...and the compiled loop at the same step


class _Recorder:
    """A probe that keeps copies of what it sees."""

    def __init__(self, every: int) -> None:
        self.name, self.schedule = "rec", Schedule.every(every)
        self.seen: list[tuple] = []

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event) -> None:
        self.seen.append(
            (event.step, event.cost.copy(), [g.copy() for g in event.grads.dW], event.active.copy())
        )

    def result(self) -> list:
        return self.seen


def test_probes_see_the_same_steps_and_values() -> None:
    rng = np.random.default_rng(2)
    X, Y = _data(rng, 64, 4, 3, "cross_entropy")
    net = init_network([4, 9, 7, 3], "gelu", "softmax", population=2, seed=4)
    probes = {}
    runs = {}
    for engine in ("fast", "reference"):
        probes[engine] = _Recorder(every=25)
        t = Trainer(
            net.copy(),
            X,
            Y,
            loss="cross_entropy",
            optimizer="adam",
            lr=0.01,
            probes=[probes[engine]],
        )
        t.engine = engine
        runs[engine] = t
        t.run(120)
    fast, ref = probes["fast"].seen, probes["reference"].seen
    assert [s[0] for s in fast] == [s[0] for s in ref] == [0, 25, 50, 75, 100, 119]
    for a, b in zip(fast, ref, strict=True):
        np.testing.assert_allclose(a[1], b[1], rtol=TOL)
        for ga, gb in zip(a[2], b[2], strict=True):
            np.testing.assert_allclose(ga, gb, rtol=0, atol=TOL * max(1.0, np.abs(gb).max()))
    _assert_same(
        runs["fast"], runs["reference"], np.concatenate(runs["fast"]._costs, axis=1),
        np.concatenate(runs["reference"]._costs, axis=1),
    )  # fmt: skip


def test_the_compiled_loop_runs_the_stretches_between_probes(monkeypatch) -> None:
    calls: list[int] = []
    real = _fast.run_chunk

    def counting(plan, flat, opt, state, X, Y, batches, active, work=None):
        calls.append(len(batches[1]))
        return real(plan, flat, opt, state, X, Y, batches, active, work)

    monkeypatch.setattr(_fast, "run_chunk", counting)
    rng = np.random.default_rng(5)
    X, Y = _data(rng, 30, 2, 1, "binary_cross_entropy")
    t = Trainer(init_network([2, 4, 1], seed=0), X, Y, probes=[_Recorder(every=40)])
    t.engine = "fast"
    t.run(100)
    # probes at 0, 40, 80 and 99 run on the reference engine, the stretches between them on
    # the compiled loop
    assert calls == [39, 39, 18]
    calls.clear()
    monkeypatch.setattr(_fast, "MIN_SECONDS", 1e9)  # "auto": no run is long enough...
    fit(init_network([2, 4, 1], seed=0), X, Y, steps=100)
    assert calls == []
    monkeypatch.setattr(_fast, "MIN_SECONDS", 0.0)  # ...or every run is
    fit(init_network([2, 4, 1], seed=0), X, Y, steps=100)
    assert calls == [100]


def test_where_it_does_not_apply_the_reference_engine_trains() -> None:
    rng = np.random.default_rng(6)
    X, Y = _data(rng, 30, 2, 1, "binary_cross_entropy")
    net = init_network([2, 4, 1], seed=0)
    homemade = Activation("relu", lambda z: np.maximum(z, 0), lambda z, a: (z > 0) * 1.0)
    odd = init_network([2, 4, 1], [homemade], seed=0)
    assert _fast.plan(odd, Trainer(odd, X, Y).loss, GradientDescent(0.1)) is None

    class Halving(GradientDescent):
        pass

    t = Trainer(net.copy(), X, Y, optimizer=Halving(0.1))
    assert t._fast_plan(10**6) is None
    assert t.run(30).shape == (1, 30)


def test_the_environment_can_turn_it_off(monkeypatch) -> None:
    monkeypatch.setenv("INITLAB_ENGINE", "reference")
    assert not _fast.available()
    monkeypatch.delenv("INITLAB_ENGINE")
    assert _fast.available()


def test_the_kernel_changes_with_the_compiled_modules_it_calls() -> None:
    # numba's cache keys a compiled function on its own file only: the kernel records the
    # hash of the files it calls into, so that editing them changes the kernel's file too
    from pathlib import Path

    import initlab._fast_act
    import initlab._fast_blas
    import initlab._fast_kernel

    h = hashlib.sha256()
    for mod in (initlab._fast_act, initlab._fast_blas):
        h.update(Path(mod.__file__).read_text(encoding="utf-8").replace("\r\n", "\n").encode())
    assert initlab._fast_kernel.COMPILED_WITH == h.hexdigest(), (
        f"set COMPILED_WITH = {h.hexdigest()!r} in src/initlab/_fast_kernel.py"
    )
