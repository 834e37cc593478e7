"""The default study as evidence: two disjoint sets of seeds give the same verdict on every
claim, and ``--quick`` never contradicts the full study.

Each runs the default study (20 seeds per scheme, no store) in two worker processes: about
40 s each on two idle cores, so they are marked slow.  The run with seeds 0-19 (with its
figures) is shared with the browser test of the full report (``study_runs.full_study``)."""

from __future__ import annotations

import pytest
from study_runs import full_study

from initlab import study
from initlab.study import StudyOptions
from initlab.study.result import QUICK_UNDECIDED

pytestmark = pytest.mark.slow

#: The second seed set starts here: far from 0..19 (and from anything the populations add).
SECOND = 1000


@pytest.fixture(scope="module")
def full():
    pytest.importorskip("sklearn")  # the imbalanced data set of claim 3
    return full_study()


def _verdicts(report):
    return {r.name: r.verdict for r in report.results}


def test_disjoint_seed_sets_give_the_same_verdicts(full):
    other = study.run_study(
        StudyOptions(first_seed=SECOND), None, progress=False, figures=False, jobs=2
    )
    assert set(full.settings.seeds).isdisjoint(other.settings.seeds)
    assert len(full.settings.seeds) == len(other.settings.seeds) == 20
    assert _verdicts(other) == _verdicts(full)


def test_quick_never_contradicts_the_full_study(full):
    quick = study.run_study(StudyOptions(quick=True), None, progress=False, figures=False)
    q, f = _verdicts(quick), _verdicts(full)
    wrong = {n: (q[n], f[n]) for n in f if q[n] not in (f[n], QUICK_UNDECIDED)}
    assert wrong == {}, f"quick vs full: {wrong}"


def test_claim_9_no_difference_detected_with_its_interval(full):
    """The case of the issue: 2-64x10-1, normal vs uniform per-layer factor of Var(Z)."""
    r = next(x for x in full.results if x.name == "normal_vs_uniform")
    for pair in ("relu xavier", "relu he", "sigmoid xavier", "sigmoid he"):
        c = r.numbers["by_activation"][pair]["variance_factor"]
        assert c["outcome"] == "same", (pair, c)
        # equivalence: the whole 95 % interval within the smallest effect that matters
        assert 1 / 1.1 <= c["low"] <= c["high"] <= 1.1 and c["half_width"] < 0.1
    assert any("no difference detected (95% CI +-" in t for t in r.tests)
