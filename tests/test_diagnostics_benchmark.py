"""The fast subset of the labelled verdict benchmark (benchmarks/verdicts.py): each case's
verdict names exactly its labelled failure modes (the whole benchmark prints the confusion
matrix; `python benchmarks/verdicts.py`)."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "verdicts.py"


def _bench():
    spec = importlib.util.spec_from_file_location("initlab_bench_verdicts", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


B = _bench()
try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False
FAST = [c for c in B.cases(torch=HAVE_TORCH) if c.fast]


def test_the_benchmark_has_enough_labelled_cases():
    every = B.cases(torch=HAVE_TORCH)
    assert len(every) >= (60 if HAVE_TORCH else 40)
    assert all(c.why for c in every)
    assert {m for c in every for m in c.label} >= {
        "diverged", "exploded", "never_learned", "symmetric", "vanishing", "exploding",
        "saturated", "dead_relu",
    }  # fmt: skip


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_fast_case_gets_its_label(case):
    v = case.run()
    assert B.predicted(v) == case.label, (v.sentence, case.why)
    if set(case.label) & set(B.BAD_OUTCOMES):
        assert "healthy" not in v.modes and v.status != "healthy"


def test_score_counts_a_confusion_matrix():
    C = B.Case
    r = [
        (C("a", frozenset({"vanishing"}), "", lambda: None), frozenset({"vanishing"})),
        (C("b", frozenset(), "", lambda: None), frozenset({"vanishing"})),
        (C("c", frozenset({"vanishing"}), "", lambda: None), frozenset()),
    ]
    s = B.score(r)["vanishing"]
    assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (1, 1, 1, 0)
    assert s["precision"] == 0.5 and s["recall"] == 0.5
