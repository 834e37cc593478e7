"""The study on its real quick run: each experiment's verdict follows from the measurements,
the results are reproducible bit for bit, the store rebuilds the report, and an interrupted
study leaves the store readable."""

import dataclasses
import json
import math

import numpy as np
import pytest

from initlab import study
from initlab.diagnostics import layer_stats, steps_to_cost, verdict
from initlab.store import Store
from initlab.study import HOLDS, NOT_HOLDS, PART, StudyOptions
from initlab.study.result import QUICK_UNDECIDED, UNDECIDED, decide, spread, spread_text
from initlab.study.stats import above, compare, more_often, typical, typical3


def _expected(parts, quick=True):
    """The verdict rule, restated: a None part leaves the claim undecided (at quick
    settings when quick)."""
    if any(p is None for p in parts):
        return QUICK_UNDECIDED if quick else UNDECIDED
    return HOLDS if all(parts) else (NOT_HOLDS if not any(parts) else PART)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick study with a store (figures are tested through the CLI), shared by the tests
    of this file."""
    d = tmp_path_factory.mktemp("study")
    st = Store(d / "runs.sqlite")
    report = study.run_study(StudyOptions(quick=True), st, progress=False, figures=False)
    ctx = study.StoreContext(report.settings, st, report.study_id)
    yield report, st, ctx, d
    st.close()


def _result(report, name):
    return next(r for r in report.results if r.name == name)


def test_every_experiment_ran_in_claim_order(quick):
    report, *_ = quick
    assert [r.name for r in report.results] == study.names()
    assert [r.number for r in report.results][:4] == ["1", "2", "3", "4"]
    for r in report.results:
        assert r.verdict in study.VERDICTS
        assert r.criterion and r.key_figure and r.claim
        assert any(ch.isdigit() for ch in r.key_figure)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_zero_trap_verdict(quick, act):
    report, _, ctx, _ = quick
    r = _result(report, f"zero_{act}")
    pop = ctx.population(f"train/{act}")
    k = pop.of("zeros")[0]
    rows = [x for x in layer_stats(pop.history, k) if x["hidden"]]
    parts = [
        all(x["a_zero"] == 1.0 for x in rows),
        all(x["dW_norm"] == 0.0 for x in rows),
        all(x["weight_change"] == 0.0 for x in rows if x["step"] == max(y["step"] for y in rows)),
    ]
    assert r.verdict == _expected(parts) == HOLDS
    # the engine agrees: the final hidden weights are exactly the initial ones (zeros)
    assert all(np.all(w[k] == 0.0) for w in pop.net.weights[:-1])
    # first and final cost are one value, computed on a batch and on the whole set: equal to
    # the rounding of a mean of m terms (relative 1e-13 is far above m * eps for m < 1e3)
    assert r.numbers["cost_first"] == pytest.approx(r.numbers["cost_final"], rel=1e-13)
    assert r.numbers["cost_final"] == pytest.approx(math.log(2), rel=1e-13)


def test_zero_sigmoid_balanced_is_a_stationary_point(quick):
    report, _, ctx, _ = quick
    r = _result(report, "zero_sigmoid")
    pop = ctx.population("train/sigmoid")
    k = pop.of("zeros")[0]
    rows = layer_stats(pop.history, k)
    case = r.numbers["cases"]["main"]
    m = int(sum(case["train class counts"]))
    floor = m * np.finfo(np.float64).eps * 0.5  # the summation bound, stated independently
    assert case["rounding_floor"] == pytest.approx(floor)
    assert all(x["dW_norm"] <= floor and x["db_norm"] <= floor for x in rows)
    assert case["all_gradients_zero"] and not case["hidden_gradients_nonzero"]
    assert np.allclose(pop.cost(k), pop.cost(k)[0], rtol=1e-13, atol=0)
    # halted: the cost is the entropy of the class prior (ln 2 for balanced classes)
    assert case["halted"] and case["base_rate_entropy"] == pytest.approx(math.log(2))
    # quick settings leave the imbalanced set out: the claim cannot be decided without it
    assert r.numbers["skipped"]
    assert (
        r.verdict
        == QUICK_UNDECIDED
        == _expected(
            [case["hidden_gradients_nonzero"], case["units_identical"], case["halted"], None]
        )
    )


def test_zero_sigmoid_imbalanced_gradients_not_zero():
    pytest.importorskip("sklearn")
    s = dataclasses.replace(StudyOptions(quick=True).settings(), imbalanced_dataset="breast_cancer")
    ctx = study.TrainingContext(s)
    r = study.EXPERIMENTS["zero_sigmoid"].run(ctx)
    imb = r.numbers["cases"]["imbalanced"]
    pop = ctx.population("imbalanced/sigmoid")
    k = pop.of("zeros")[0]
    hidden = [x for x in layer_stats(pop.history, k) if x["hidden"]]
    assert any(x["dW_norm"] > 0 for x in hidden) == imb["hidden_gradients_nonzero"] is True
    assert all(x["distinct_units"] == 1 for x in hidden) == imb["units_identical"] is True
    counts = pop.dataset.class_counts("train")
    assert imb["majority_fraction"] == counts.max() / counts.sum() != 0.5
    # every one of the first steps is recorded for the zero member, where the gradients are
    steps = {x["step"] for x in hidden}
    assert set(range(s.early_steps + 1)) <= steps
    g1 = max(x["dW_norm"] for x in hidden if x["step"] == 1)
    g20 = max(x["dW_norm"] for x in hidden if x["step"] == 20)
    assert g1 > 1e-4 and g20 < 1e-2 * g1  # large at first, then decaying 100-fold and more
    # the base rate: the final cost is the entropy of the class prior
    p = counts / counts.sum()
    entropy = float(-(p * np.log(p)).sum())
    assert pop.final_cost(k) == pytest.approx(entropy, rel=1e-3) and imb["halted"]
    parts = []
    for c in r.numbers["cases"].values():
        parts += [c["hidden_gradients_nonzero"], c["units_identical"], c["halted"]]
    assert r.verdict == _expected(parts)


def test_constant_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "constant")
    parts = []
    for act in ("relu", "tanh", "sigmoid"):
        pop = ctx.population(f"train/{act}")
        k = pop.of("constant:value=0.5")[0]
        hidden = [x for x in layer_stats(pop.history, k) if x["hidden"]]
        sym = all(x["distinct_units"] == 1 for x in hidden)
        nar = ctx.population(f"narrow/{act}")
        best = min(float(c) for c in nar.history.final_cost)
        parts += [sym, pop.final_cost(k) >= 0.95 * best]
        assert sym  # a constant never breaks symmetry, whatever the activation
    assert r.verdict == _expected(parts)


def _steps(pop, scheme, settings):
    """Steps to the target of ``scheme``'s members, in seed order."""
    return [steps_to_cost(pop.cost(k), settings.target_cost(2)) for k in pop.of(scheme)]


def _falling(cost):
    c = cost[np.isfinite(cost)]
    start = c[-max(2, len(c) // 10)]
    return (start - c[-1]) / start > 0.01


def _stalled(pop, k, settings):
    return steps_to_cost(pop.cost(k), settings.target_cost(2)) is None and not _falling(pop.cost(k))


def _reached(pop, k, settings):
    if steps_to_cost(pop.cost(k), settings.target_cost(2)) is not None:
        return True
    return None if _falling(pop.cost(k)) else False


def test_small_vanishing_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "small_vanishing")
    s = report.settings
    parts = []
    for act in ("tanh", "sigmoid"):
        deep = ctx.population(f"depth/{act}")
        vanish = typical(
            ["vanishing" in [f.mode for f in verdict(deep.history, k)] for k in deep.of("small")]
        )
        ref = r.numbers[act]["reference_scheme"]
        tr = ctx.population(f"train/{act}")
        slow = None
        if ref is not None:
            a, b = _steps(tr, "small", s), _steps(tr, ref, s)
            slow = above(compare(a, b, delta=0.2, paired=True, censor_at=s.steps + 1), 2.0)
        if slow is None and typical([_stalled(tr, k, s) for k in tr.of("small")]):
            slow = True
        parts += [vanish, slow]
        # the variance really shrinks layer after layer with small weights
        var = r.numbers[act]["variance_by_layer"]["small"]
        assert var[-1] < var[0] * 1e-3 or act == "sigmoid"
    assert r.verdict == _expected(parts)


def test_small_relu_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "small_relu")
    s = report.settings
    sh, tr = ctx.population("shallow/relu"), ctx.population("train/relu")
    slow = above(
        compare(
            _steps(sh, "small", s),
            _steps(sh, "he_normal", s),
            delta=0.2,
            paired=True,
            censor_at=s.steps + 1,
        ),
        2.0,
    )
    reach = typical3([_reached(sh, k, s) for k in sh.of("small")])
    deeper = typical3([_reached(tr, k, s) for k in tr.of("small")])
    f = r.numbers["dZ_factor_per_seed"]
    cmp = [compare(f["relu"], f[a], delta=0.1, paired=True) for a in ("tanh", "sigmoid")]
    less = [above(c, 1.0) for c in cmp]
    parts = [None if None in less else all(less), slow, reach, deeper]
    assert r.verdict == _expected(parts)
    # the per-seed factors skip layer 1 (fan-in 2): the diagnostics' rule on layers 2 to L
    deep = ctx.population("depth/relu")
    k = deep.of("small")[0]
    dz = [x["dZ_rms"] for x in layer_stats(deep.history, k) if x["hidden"]][1:]
    assert f["relu"][0] == pytest.approx((dz[0] / dz[-1]) ** (1 / (len(dz) - 1)))


def test_large_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "large_tanh_sigmoid")
    parts = []

    def exploding(deep, sc):
        return ["exploding" in [f.mode for f in verdict(deep.history, k)] for k in deep.of(sc)]

    def unstable(tr, sc):
        out = []
        for k in tr.of(sc):
            c = tr.cost(k)
            rises = np.mean(np.diff(c[np.isfinite(c)]) > 0)
            out.append(tr.history.diverged_at[k] is not None or rises > 0.1)
        return out

    for act in ("tanh", "sigmoid"):
        deep, tr = ctx.population(f"depth/{act}"), ctx.population(f"train/{act}")
        for sc in ("random_normal:std=1", "large"):
            parts += [
                more_often(exploding(deep, sc), exploding(deep, "xavier_normal")),
                more_often(unstable(tr, sc), unstable(tr, "xavier_normal")),
            ]
            # per seed, not the union: the table counts the seeds showing each mode
            counts = r.numbers[f"{act} {sc}"]["modes_per_seed"]
            assert counts.get("exploding", 0) == sum(exploding(deep, sc))
            # large weights saturate tanh and sigmoid units at initialization
            if sc == "large":
                sat = r.numbers[f"{act} {sc}"]["saturated_fraction_by_layer"]
                assert max(sat) > 0.5
    assert r.verdict == _expected(parts)


def test_xavier_he_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "xavier_he")
    s = report.settings
    rec = {"tanh": "xavier", "sigmoid": "xavier", "relu": "he"}
    parts = []
    for act, fam in rec.items():
        deep, tr = ctx.population(f"depth/{act}"), ctx.population(f"train/{act}")
        ours = (f"{fam}_normal", f"{fam}_uniform")
        stable = [
            typical(
                [
                    not {"vanishing", "exploding"} & {f.mode for f in verdict(deep.history, k)}
                    for k in deep.of(sc)
                ]
            )
            for sc in ours
        ]
        n = r.numbers[act]
        # each scheme's best rate: the lowest median steps of the sweep (within its horizon)
        for sc, lr in n["best_lr"].items():
            meds = {}
            for rate in s.sweep_lrs:
                pop = tr if rate == s.lr else ctx.population(f"sweep/{act}@{rate:g}")
                if sc not in pop.schemes():
                    continue  # left out of the sweep: compared at the study's rate only
                v = [steps_to_cost(pop.cost(k), s.target_cost(2)) for k in pop.of(sc)]
                v = [math.inf if x is None or x >= s.sweep_steps else x for x in v]
                meds[rate] = float(np.median(v))
            assert meds[lr] == min(meds.values())
        parts += [None if None in stable else all(stable), n["fastest_at_best_lr"]]
    assert r.verdict == _expected(parts)


def test_xavier_relu_deep_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "xavier_relu_deep")
    deep = ctx.population("depth/relu")
    parts = []
    for sc in ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform"):
        for k in deep.of(sc):
            v = [x["z_std"] ** 2 for x in layer_stats(deep.history, k) if x["hidden"]]
            f = (v[-1] / v[0]) ** (1 / (len(v) - 1))
            assert r.numbers[sc]["factor_per_layer"][deep.of(sc).index(k)] == pytest.approx(f)
        fs = r.numbers[sc]["factor_per_layer"]
        parts.append(
            typical([f < 0.8 for f in fs])
            if "xavier" in sc
            else typical([0.8 <= f <= 1.25 for f in fs])
        )
    assert r.verdict == _expected(parts)
    # Xavier halves the variance per ReLU layer on average; He keeps it (the theory agrees)
    assert r.numbers["xavier_normal"]["predicted_factor_per_layer"] == pytest.approx(0.5)
    assert r.numbers["he_normal"]["predicted_factor_per_layer"] == pytest.approx(1.0)


def test_normal_vs_uniform_verdict(quick):
    report, _, ctx, _ = quick
    r = _result(report, "normal_vs_uniform")
    n = r.numbers
    parts = [v["equal"] for v in n["formula"].values()]
    parts += [v["match_formula"] for v in n["weights"].values()]
    for act in ("relu", "tanh", "sigmoid"):
        deep = ctx.population(f"depth/{act}")
        for fam in ("xavier", "he"):
            v = n["by_activation"][f"{act} {fam}"]
            f = {}
            for form in ("normal", "uniform"):
                f[form] = []
                for k in deep.of(f"{fam}_{form}"):  # seed order
                    z = [x["z_std"] ** 2 for x in layer_stats(deep.history, k) if x["hidden"]]
                    f[form].append((z[-1] / z[0]) ** (1 / (len(z) - 1)))
            c = compare(f["normal"], f["uniform"], delta=0.1, paired=True)
            assert c.outcome == v["variance_factor"]["outcome"]
            assert c.ratio == pytest.approx(v["variance_factor"]["ratio"])
            parts += [
                None if c.outcome == "undecided" else c.outcome == "same",
                {"same": True, "differ": False}.get(v["steps"]["outcome"]),
            ]
    assert r.verdict == _expected(parts)
    assert n["formula"]["xavier"]["equal"] and n["formula"]["he"]["equal"]


def test_worked_example(quick):
    report, *_ = quick
    r = _result(report, "worked_example")
    n = r.numbers
    p, (x1, x2) = n["parameters"], n["X"]
    z1 = p["W1"] * x1 + p["W2"] * x2 + p["b1"]
    assert n["forward_engine"]["Z1"] == pytest.approx(z1, rel=1e-12)
    a1, a2 = max(z1, 0.0), max(p["W3"] * x1 + p["W4"] * x2 + p["b2"], 0.0)
    dz_out = n["forward_engine"]["A_out"] - n["y"]  # one example: dJ/dZ_out = A_out - y
    assert n["gradients_backprop"]["W5"] == pytest.approx(a1 * dz_out, rel=1e-9)
    assert n["gradients_backprop"]["W6"] == pytest.approx(a2 * dz_out, rel=1e-9)
    for name, g in n["gradients_backprop"].items():
        assert g == pytest.approx(n["gradients_finite_difference"][name], abs=1e-8)
    assert n["gradient_check_relative_error"] < 1e-7
    gc = n["gradients_constant_weights"]
    assert gc["W1"] == gc["W3"] and gc["W2"] == gc["W4"]
    assert all(n["gradients_zero_weights"][k] == 0.0 for k in ("W1", "W2", "W3", "W4"))
    assert r.verdict == HOLDS


def test_same_seed_same_numbers(quick, tmp_path):
    """A second quick run (fresh store, no figures), its populations trained in two worker
    processes, gives bit-identical JSON (run ids included), timing aside."""
    report, *_ = quick
    with Store(tmp_path / "again.sqlite") as st:
        again = study.run_study(StudyOptions(quick=True), st, progress=False, figures=False, jobs=2)
    a, b = report.to_dict(), again.to_dict()
    a.pop("timing"), b.pop("timing")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.slow
def test_figures_drawn_by_workers_are_the_ones_drawn_here():
    pytest.importorskip("matplotlib")
    opts = StudyOptions(quick=True, only=("zero_relu",))
    here = study.run_study(opts, None, progress=False, jobs=1)
    there = study.run_study(opts, None, progress=False, jobs=2)
    assert here.images and set(here.images) == set(there.images)
    assert all(here.images[k] == there.images[k] for k in here.images)


def test_rebuild_from_store_equals_original(quick):
    report, st, _, _ = quick
    rebuilt = study.rebuild_study(st, report.study_id, figures=False)
    assert rebuilt.notes == []
    assert [r.to_dict() for r in rebuilt.results] == [r.to_dict() for r in report.results]


def test_interrupted_study_keeps_finished_runs(tmp_path):
    """Ctrl-C in the third population: the first two and their experiments stay readable."""
    seen = []

    class Interrupt:
        name = "interrupt"

        def wants(self, step, last):
            return step % 5 == 0

        def __call__(self, event):
            if event.step >= 10:
                raise KeyboardInterrupt

        def result(self):
            return None

    def probes(key):
        seen.append(key)
        return [Interrupt()] if len(seen) == 3 else []

    opts = StudyOptions(quick=True, only=("zero_relu", "zero_tanh", "zero_sigmoid"))
    path = tmp_path / "runs.sqlite"
    st = Store(path)
    with pytest.raises(KeyboardInterrupt):
        study.run_study(opts, st, progress=False, figures=False, probe_factory=probes)
    st.close()
    assert seen == ["train/relu", "train/tanh", "train/sigmoid"]
    with Store(path) as st:
        s = st.study("latest")
        assert s["status"] == "interrupted"
        assert [e["name"] for e in st.experiments(s["id"])] == ["zero_relu", "zero_tanh"]
        runs = st.runs(s["id"])
        pops = {r["population"] for r in runs}
        assert pops == {"train/relu", "train/tanh"}
        for r in runs:
            full = st.run(r["id"])
            assert len(full["cost"]) == full["config"]["steps"]
        rebuilt = study.rebuild_study(st, s["id"], figures=False)
        assert [r.name for r in rebuilt.results] == ["zero_relu", "zero_tanh"]
        assert rebuilt.notes == []


def test_only_and_unknown_names():
    assert study.check_names(["zero_tanh,zero_relu"]) == ["zero_relu", "zero_tanh"]
    with pytest.raises(ValueError) as err:
        StudyOptions(only=("zero_relu", "nope"))
    for name in study.names():
        assert name in str(err.value)
    with pytest.raises(ValueError, match="seeds"):
        StudyOptions(seeds=0)
    with pytest.raises(ValueError, match="dataset"):
        StudyOptions(dataset="bogus")


def test_registry_setup():
    s = StudyOptions().settings()
    setups = study.EXPERIMENTS["small_relu"].setup(s)
    assert [x["population"] for x in setups] == list(study.EXPERIMENTS["small_relu"].populations)
    shallow = setups[0]
    assert shallow["hidden layers"] == [16] and shallow["optimizer"] == "gd"
    assert shallow["seeds"] == list(range(20)) and shallow["schemes"] == ["small", "he_normal"]
    assert StudyOptions(first_seed=20).settings().seeds == tuple(range(20, 40))
    assert StudyOptions(quick=True).settings().seeds == tuple(range(5))
    quick = StudyOptions(quick=True).settings()
    keys = [x["population"] for x in study.EXPERIMENTS["zero_sigmoid"].setup(quick)]
    assert keys == ["train/sigmoid"]  # the imbalanced case is left out of quick runs


def test_helpers():
    assert decide([True, True]) == HOLDS and decide([False]) == NOT_HOLDS
    assert decide([True, False]) == PART and decide([True, None]) == UNDECIDED
    s = spread([1.0, 3.0, None])
    assert s == {"mean": 2.0, "sd": math.sqrt(2.0), "min": 1.0, "max": 3.0, "n": 2, "missing": 1}
    assert spread_text(spread([None, None])) == "never"
    assert "1 never" in spread_text(s)
