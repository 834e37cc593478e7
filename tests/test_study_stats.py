"""The study's statistical tests (initlab.study.stats) and the early-step schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.study.stats import (
    DIFFER,
    SAME,
    UNDECIDED,
    above,
    as_part,
    compare,
    share,
    t_quantile,
    typical,
    typical3,
)
from initlab.train import Schedule


def test_t_quantile_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2):  # closed forms
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-12)
    # the expansion's error (Abramowitz & Stegun 26.7.5): 0.1 % at df = 3, far less above
    for df in (3, 4, 5, 7.5, 19, 50, 500):
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=2e-3)
    assert t_quantile(0.975, 19) == pytest.approx(2.093024, abs=1e-5)  # printed tables
    with pytest.raises(ValueError, match="p=1"):
        t_quantile(1, 5)


def test_compare_detects_a_clear_difference_and_names_it():
    rng = np.random.default_rng(0)
    b = np.exp(rng.normal(0, 0.05, 20)) * 100
    a = b * 1.5 * np.exp(rng.normal(0, 0.02, 20))
    c = compare(a, b, delta=0.05, paired=True)
    assert c.outcome == DIFFER and c.low < 1.5 < c.high and c.low > 1.4
    assert c.test == "paired t on log ratios" and c.n_a == 20
    assert "differ: ratio 1.5" in c.text() and "smallest effect that matters 5%" in c.text()
    assert as_part(c, SAME) is False and as_part(c, DIFFER) is True
    assert above(c, 1.2) is True and above(c, 2.0) is False


def test_compare_no_difference_detected_with_its_interval():
    rng = np.random.default_rng(1)
    a = np.exp(rng.normal(0, 0.02, 20))
    b = np.exp(rng.normal(0, 0.02, 20))
    c = compare(a, b, delta=0.05, paired=True)
    assert c.outcome == SAME and c.half_width < 0.05
    assert c.text().startswith("no difference detected (95% CI +-")
    # the same data with a smaller effect that matters than the interval: undecided
    assert compare(a, b, delta=c.half_width / 2, paired=True).outcome == UNDECIDED
    assert as_part(compare(a, b, delta=c.half_width / 2, paired=True), SAME) is None


def test_compare_interval_covers_the_true_ratio_95_percent_of_the_time():
    # 400 paired experiments of 20 seeds, true ratio 1.03: the coverage of a 95 % interval
    # is binomial(400, 0.95), sd = sqrt(.95 * .05 / 400) = 1.1 %; 4 sd either side
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(400):
        b = np.exp(rng.normal(0, 0.1, 20))
        a = b * 1.03 * np.exp(rng.normal(0, 0.05, 20))
        c = compare(a, b, delta=0.05, paired=True)
        covered += c.low <= 1.03 <= c.high
    assert 0.95 - 4 * 0.011 <= covered / 400 <= 0.95 + 4 * 0.011
    # Welch on unpaired groups: same check
    covered = 0
    for _ in range(400):
        a = 1.03 * np.exp(rng.normal(0, 0.1, 12))
        b = np.exp(rng.normal(0, 0.05, 25))
        c = compare(a, b, delta=0.05, paired=False)
        covered += c.low <= 1.03 <= c.high
    assert c.test == "Welch t on logs"
    assert 0.95 - 4 * 0.011 <= covered / 400 <= 0.95 + 4 * 0.011


def test_censored_steps_are_lower_bounds():
    reached = [20, 22, 25, 21, 19, 24, 23, 20]
    never = [None] * 8
    c = compare(never, reached, delta=0.2, paired=True, censor_at=301)
    assert c.outcome == DIFFER and c.censored_a == 8 and above(c, 2.0) is True
    # censored on the slower side: the bound only understates the difference
    c = compare(reached, never, delta=0.2, paired=True, censor_at=301)
    assert c.outcome == DIFFER and above(c, 0.5) is False and above(c, 0.01) is None
    # a censored "same" is not a same
    c = compare([300, None, 300, 300], [300, 300, None, 300], delta=0.2, paired=True, censor_at=301)
    assert c.outcome == UNDECIDED
    c = compare(never, never, delta=0.2, paired=True, censor_at=301)
    assert c.outcome == SAME and c.short() == "same: neither reaches"
    with pytest.raises(ValueError, match="no censor_at"):
        compare([1.0, None], [1.0, 2.0], delta=0.1, paired=True)
    with pytest.raises(ValueError, match="only positive"):
        compare([1.0, -1.0], [1.0, 2.0], delta=0.1, paired=True)


def test_share_is_the_clopper_pearson_lower_bound():
    stats = pytest.importorskip("scipy.stats")
    s = share([True] * 20)
    assert s.lower == pytest.approx(0.05 ** (1 / 20)) and s.every
    for k, n in ((15, 20), (3, 5), (1, 20)):
        s = share([True] * k + [False] * (n - k))
        assert s.lower == pytest.approx(stats.beta.ppf(0.05, k, n - k + 1), abs=1e-9)
    assert share([False] * 5).lower == 0.0 and share([False] * 5).none


def test_typical_decides_only_when_the_seeds_do():
    assert typical([True] * 15 + [False] * 5) is True
    assert typical([True] * 14 + [False] * 6) is None
    assert typical([False] * 20) is False
    assert typical([True] * 4 + [False]) is None  # 4 of 5 seeds: too few to say
    assert typical3([True] * 15 + [None] * 5) is True
    assert typical3([False] * 10 + [None] * 10) is None
    assert typical3([False] * 20) is False


def test_dense_then_every_schedule():
    s = Schedule.dense_then_every(5, 10)
    seen = [t for t in range(40) if s.wants(t, 39)]
    assert seen == [0, 1, 2, 3, 4, 5, 10, 20, 30, 39]
    assert repr(s) == "Schedule.dense_then_every(5, 10)"
    assert [t for t in range(25) if Schedule.every(10).wants(t, 24)] == [0, 10, 20, 24]
    with pytest.raises(ValueError, match="first"):
        Schedule.dense_then_every(-1, 10)
    assert math.isfinite(t_quantile(0.975, 3))
