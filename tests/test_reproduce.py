"""initlab reproduce: the CI and verdict rules, the registry, the CLI's errors, and one tiny
experiment end to end (report files, store)."""

from __future__ import annotations

import json
import math
from html import escape as html_escape

import numpy as np
import pytest

from initlab.cli import main
from initlab.reproduce import (
    DIRECTION,
    NOT_REPRODUCED,
    REPRODUCED,
    Comparison,
    Settings,
    check_names,
    ci,
    ci_log,
    ci_proportion,
    names,
    run_reproduce,
    weakest,
    write_outputs,
)
from initlab.reproduce.common import by_factor, by_sign, by_threshold, by_tolerance


def test_ci_is_the_student_t_interval() -> None:
    # [1, 2, 3]: mean 2, s = 1, t_{0.975, 2} = 4.3027 (table value): half-width 4.3027/sqrt 3
    c = ci([1.0, 2.0, 3.0, None, math.nan])
    assert c["mean"] == 2.0 and c["n"] == 3 and c["missing"] == 2
    assert c["high"] - 2.0 == pytest.approx(4.3027 / math.sqrt(3), rel=1e-3)
    assert ci([5.0])["low"] is None
    g = ci_log([1e-5, 1e-3])
    assert g["mean"] == pytest.approx(1e-4)


def test_ci_proportion_stays_inside_zero_one() -> None:
    # accuracies 1.0 and 0.9 over two seeds: the t-interval on the values, 0.95 +- 12.71 *
    # 0.0707, reaches 1.85; the interval on the logit stays inside [0, 1], the mean is the
    # plain mean
    assert ci([1.0, 0.9])["high"] > 1.0
    c = ci_proportion([1.0, 0.9, None], 100)
    assert c["mean"] == pytest.approx(0.95) and c["n"] == 2 and c["missing"] == 1
    assert 0.0 < c["low"] < 0.9 and 1.0 > c["high"] > c["mean"]
    z = ci_proportion([0.0, 0.0, 0.0], [50, 60, 70])  # all zero: finite logits, (0, 1)
    assert z["mean"] == 0.0 and 0.0 < z["low"] <= z["high"] < 1.0
    assert ci_proportion([1.0], 10)["low"] is None
    with pytest.raises(ValueError, match=r"proportion must lie in \[0, 1\], got 1.5"):
        ci_proportion([1.5, 0.5], 10)
    with pytest.raises(ValueError, match="trials must be whole numbers of at least 1, got 0"):
        ci_proportion([0.5, 0.5], [10, 0])
    with pytest.raises(ValueError, match="one entry per value"):
        ci_proportion([0.5, 0.5], [10])


@pytest.mark.parametrize(("p", "m", "n", "least"), [(0.9, 200, 5, 0.90), (0.98, 100, 3, 0.88)])
def test_ci_proportion_covers_the_true_proportion(p: float, m: int, n: int, least: float) -> None:
    # per-seed accuracies c/m with c ~ Binomial(m, p), n seeds, 600 draws (fixed seed).  The
    # interval must stay inside [0, 1] every time (the t-interval on the values leaves it in
    # about 3/4 of the draws at p = 0.98) and cover p about 95 % of the time.  A 4000-draw
    # run measured 0.949 and 0.927 (the logit's Jensen bias near the bound costs ~2 points);
    # the floors allow that, 0.01 more, and 3 standard errors of a 600-draw coverage
    # (sqrt(0.95 * 0.05 / 600) = 0.009); the ceiling 0.99 catches an interval far too wide.
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(600):
        c = ci_proportion((rng.binomial(m, p, size=n) / m).tolist(), m)
        assert 0.0 <= c["low"] <= c["high"] <= 1.0
        hits += c["low"] <= p <= c["high"]
    assert least <= hits / 600 <= 0.99


def test_residual_accuracy_intervals_stay_inside_zero_one() -> None:
    from initlab.reproduce.residual import VARIANTS, _comparisons

    init = {v: {"4": {"growth": [[1.0], [1.0]], "theory": [1.0]}} for v in VARIANTS}
    tr: dict = {v: {"accuracy": [1.0, 0.9], "points": 1437} for v in VARIANTS}
    tr["depth"] = 4
    rows = [r for r in _comparisons(init, tr, 4) if r.quantity.startswith("training accuracy")]
    assert len(rows) == len(VARIANTS)
    for r in rows:
        # mathematically below 1; 1 - 7e-19 rounds to 1.0 in float64
        assert 0.0 < r.ours["low"] < r.ours["high"] <= 1.0, r.quantity
        assert r.ours["mean"] == pytest.approx(0.95)


def test_residual_training_with_every_member_diverged_warns_nothing() -> None:
    # 32 unscaled blocks: every member diverges within a few steps, so the diagnostics hold no
    # record at the last step; the branch weight change is then None, with no NumPy warning
    import warnings

    from initlab.reproduce.context import Context
    from initlab.reproduce.residual import _trained

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _trained(Context(Settings(tiny=True)), 32, 2)
    assert all(d is not None for d in out["unscaled"]["diverged"])
    assert out["unscaled"]["branch_weight_change"] == [None, None]
    moved = out["zero branches"]["branch_weight_change"]
    assert all(isinstance(x, float) for x in moved)


def test_verdict_rules() -> None:
    assert by_sign(ci([1.0, 1.1, 1.2])) == REPRODUCED
    assert by_sign(ci([1.0, 2.0, 3.0])) == DIRECTION  # CI reaches below 0
    assert by_sign(ci([-1.0, 2.0, 3.0])) == DIRECTION
    assert by_sign(ci([-1.0, -2.0])) == NOT_REPRODUCED
    assert by_tolerance({"mean": 0.55}, 0.5, 0.1) == REPRODUCED
    assert by_tolerance({"mean": 0.3}, 0.5, 0.1, same_side=0.65) == DIRECTION
    assert by_tolerance({"mean": 0.9}, 0.5, 0.1, same_side=0.65) == NOT_REPRODUCED
    # a wide CI alone does not reproduce a number
    assert by_tolerance({"mean": 0.1, "low": -5.0, "high": 5.0}, 1.0, 0.5) == NOT_REPRODUCED
    assert by_threshold({"mean": 0.9}, 0.8, 0.5) == REPRODUCED
    assert by_threshold({"mean": 0.6}, 0.8, 0.5) == DIRECTION
    assert by_threshold({"mean": 0.1}, 0.2, 0.5, above=False) == REPRODUCED
    assert by_factor({"mean": 4e-5}, 3.05e-5, 1.5) == REPRODUCED
    assert by_factor({"mean": 1e-3}, 3.05e-5, 1.5) == DIRECTION
    assert weakest([REPRODUCED, DIRECTION]) == DIRECTION
    assert weakest([REPRODUCED, NOT_REPRODUCED, DIRECTION]) == NOT_REPRODUCED
    with pytest.raises(ValueError, match="verdict='holds'"):
        Comparison("x", "1", ci([1.0]), "holds", "")


def test_registry_and_names() -> None:
    assert names() == ["glorot2010", "he2015", "saxe2013", "schoenholz2017", "mup2021", "residual"]
    assert check_names(["residual,he2015"]) == ["he2015", "residual"]
    assert check_names([]) == names()
    with pytest.raises(ValueError, match="unknown experiment.*'nope'.*glorot2010"):
        check_names(["nope"])


def test_cli_list_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for n in names():
        assert n in out
    assert main(["reproduce", "nope", "--no-store"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert main(["reproduce", "--seeds", "1", "--no-store"]) == 2
    assert "at least 2 seeds" in capsys.readouterr().err


def test_residual_variants_pass_the_gradient_check() -> None:
    # the engine's residual blocks with the experiment's scalings (h4's tests cover the rest)
    from initlab.network import Network, gradient_check, init_network
    from initlab.reproduce.residual import _modify

    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 5))
    Y = np.eye(3)[rng.integers(0, 3, 7)]
    for variant in ("unscaled", "1/sqrt(2L)", "Fixup-style", "zero branches"):
        for act in ("relu", "tanh"):
            net = init_network(
                [5, 5, 5, 3], act, "softmax", seed=1, bias_init="random_normal:std=0.1"
            )
            net = _modify(variant, 2)(net, None)
            assert isinstance(net, Network) and net.residual[:2] != (None, None)
            assert gradient_check(net, X, Y, "cross_entropy") < 1e-7, (variant, act)


def test_engine_stream_matches_the_residual_theory() -> None:
    # the engine's forward pass through wide ReLU residual blocks against the mean-field
    # recursion: width 1000 and 200 Gaussian inputs keep finite-width and sampling error of
    # the second moment to a few per cent over 6 blocks (see test_theory_residual); 8%
    from initlab.network import forward, init_network
    from initlab.reproduce.residual import _modify
    from initlab.theory import residual_stream

    X = np.random.default_rng(2).normal(size=(200, 1000))
    for variant, L in (("unscaled", 6), ("1/sqrt(2L)", 6), ("Fixup-style", 6)):
        net = init_network([1000] * (L + 1) + [2], "relu", "softmax", seed=3)
        net = _modify(variant, L)(net, None)
        _, cache = forward(net, X)
        measured = [float(np.mean(cache.A[l] ** 2)) for l in range(1, L + 1)]
        from initlab.reproduce.residual import _branch

        alpha, factor = _branch(variant, L)
        p0 = float(np.mean(X**2))
        pred = residual_stream("relu", L, alpha, 2.0 * factor**2, p0=p0).second_moment[1:]
        np.testing.assert_allclose(measured, pred, rtol=0.08, err_msg=variant)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    from initlab.store import Store

    out = tmp_path_factory.mktemp("repro")
    with Store(out / "runs.sqlite") as store:
        report = run_reproduce(["glorot2010"], Settings(tiny=True), store, progress=False)
        paths = write_outputs(report, out)
        experiments = store.experiments(report.study_id)
        n_runs = store.count_runs(report.study_id)
    return report, paths, experiments, n_runs


def test_tiny_run_writes_self_contained_reports(tiny_run) -> None:
    report, paths, _, _ = tiny_run
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html
    assert 'src="http' not in html and "<script" not in html
    for c in report.results[0].comparisons:
        assert html_escape(c.quantity) in html
        assert c.verdict in ("reproduced", "reproduced in direction only", "not reproduced")
    md = paths["markdown"].read_text()
    assert "| experiment | quantity | paper |" in md
    data = json.loads(paths["json"].read_text())
    assert data["experiments"][0]["name"] == "glorot2010"
    assert data["experiments"][0]["differences"]


def test_tiny_run_is_stored(tiny_run) -> None:
    report, _, experiments, n_runs = tiny_run
    assert [e["name"] for e in experiments] == ["glorot2010"]
    assert experiments[0]["verdict"] == report.results[0].verdict
    assert n_runs == len(experiments[0]["run_ids"]) > 0


@pytest.mark.slow
def test_every_experiment_runs_tiny(tmp_path) -> None:
    # every experiment end to end at test sizes (seconds each): a verdict per number and the
    # figures drawn; the numbers themselves are the quick/default runs' business
    report = run_reproduce(names(), Settings(tiny=True), None, progress=False)
    assert [r.name for r in report.results] == names()
    for r in report.results:
        assert r.comparisons and r.differences and r.figures, r.name
        assert all(f"{r.name}/{f['name']}" in report.images for f in r.figures)
    paths = write_outputs(report, tmp_path)
    assert paths["html"].stat().st_size > 10_000


def test_stored_runs_line_names_id_ranges_in_both_reports():
    """The study's and reproduce's reports share one "stored runs" line: distinct ids counted
    once, gaps shown as ranges (the old reproduce line said "ids 7 to 3" for [7, 1, 2, 3])."""
    from initlab.report.html import runs_html

    line = runs_html([7, 1, 2, 3, 3])
    assert "stored runs: 4 (ids 1-3, 7)" in line
    assert "7 to 3" not in line
