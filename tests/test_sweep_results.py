"""Results: records, CSV, JSON, DataFrame, the two-axis grid, the band over seeds, figures."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from initlab.sweep import SweepResults, t_quantile


def _row(cell, depth, init, seed, cost, status="ok", verdict=None):
    return {
        "cell": cell,
        "values": {"hidden": (8,) * depth, "init": init, "seed": seed},
        "config": {"hidden": [8] * depth, "init": init, "seed": seed},
        "status": status,
        "error": "ValueError: boom" if status == "failed" else None,
        "final_cost": cost,
        "train_accuracy": None if cost is None else 1 - cost,
        "test_accuracy": None,
        "steps_run": 10,
        "diverged_at": 3 if status.startswith("diverged") else None,
        "steps_to_target": None,
        "verdict": verdict,
        "seconds": 0.01,
    }


@pytest.fixture
def res() -> SweepResults:
    rows = []
    costs = {
        (1, "a"): [0.1, 0.2, 0.3],
        (1, "b"): [0.5, 0.5, 0.5],
        (2, "a"): [0.2, 0.4, None],
        (2, "b"): [1.0, 2.0, 3.0],
    }
    i = 0
    for (depth, init), cs in costs.items():
        for seed, c in enumerate(cs):
            status = "failed" if c is None else "ok"
            verdict = ["healthy"] if init == "a" else ["vanishing", "slow"]
            rows.append(_row(i, depth, init, seed, c, status, verdict))
            i += 1
    rows[-1]["status"] = "diverged at step 3"
    rows[-1]["final_cost"] = math.nan
    return SweepResults(rows, ["hidden", "init", "seed"], {"id": 7})


def test_grid_means_over_the_other_axes(res) -> None:
    g = res.grid("final_cost", "init", "hidden")
    assert g["x"] == ["a", "b"] and g["y"] == [(8,), (8, 8)]
    assert g["x_labels"] == ["a", "b"] and g["y_labels"] == ["8x1", "8x2"]
    # the failed cell and the diverged one (NaN cost) are left out, and counted out
    expected = np.array([[0.2, 0.5], [0.3, 1.5]])
    np.testing.assert_allclose(g["value"], expected, rtol=1e-12)
    assert g["n"].tolist() == [[3, 3], [2, 2]]
    d = res.grid("diverged", "init", "hidden")
    assert d["value"][1, 1] == pytest.approx(1 / 3) and d["value"][0, 0] == 0
    v = res.grid("verdict", "init", "hidden")
    assert v["value"].tolist() == [["healthy", "vanishing"], ["healthy", "vanishing"]]


def test_band_is_the_student_t_interval_over_seeds(res) -> None:
    b = res.band("final_cost", "hidden", over="seed")
    assert sorted(b["lines"]) == ["a", "b"] and b["legend_title"] == "init"
    line = b["lines"]["a"]
    np.testing.assert_allclose(line["mean"], [0.2, 0.3])
    # depth 1: values 0.1, 0.2, 0.3: s = 0.1, n = 3, t(0.975, 2) = 4.302652729749464
    half = 4.302652729749464 * 0.1 / math.sqrt(3)
    assert line["low"][0] == pytest.approx(0.2 - half, rel=1e-12)
    assert line["high"][0] == pytest.approx(0.2 + half, rel=1e-12)
    # depth 2: values 0.2, 0.4: s = sqrt(0.02), t(0.975, 1) = 12.706204736174707
    half2 = 12.706204736174707 * math.sqrt(0.02) / math.sqrt(2)
    assert line["high"][1] == pytest.approx(0.3 + half2, rel=1e-12)
    assert line["n"].tolist() == [3, 2]
    flat = b["lines"]["b"]
    assert flat["low"][0] == flat["high"][0] == 0.5  # no spread, zero width


def test_t_quantile_against_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 4, 5, 8, 12, 30, 100):
        for p in (0.9, 0.975, 0.995):
            want = stats.t.ppf(p, df)
            # exact for df <= 2; the fourth-order expansion is within 0.2% at df = 3 for
            # p <= 0.975, 1.5% for p = 0.995 (its error shrinks as 1/df^5)
            tol = 1e-10 if df <= 2 else (2e-2 if df == 3 else 5e-3)
            assert t_quantile(p, df) == pytest.approx(want, rel=tol), (p, df)
    with pytest.raises(ValueError, match="p=0.3"):
        t_quantile(0.3, 4)


def test_bad_metric_or_axis_names_what_is_allowed(res) -> None:
    with pytest.raises(ValueError, match="metric='loss'.*final_cost"):
        res.grid("loss", "init", "hidden")
    with pytest.raises(ValueError, match="axis='depth'.*hidden, init, seed"):
        res.band("final_cost", "depth")
    with pytest.raises(ValueError, match="verdict"):
        res.band("verdict", "hidden")


def test_records_csv_and_json(res) -> None:
    recs = res.records()
    assert recs[0]["hidden"] == "8x1" and recs[0]["init"] == "a"
    rows = list(csv.DictReader(io.StringIO(res.to_csv())))
    assert len(rows) == 12
    assert float(rows[1]["final_cost"]) == 0.2  # full precision (repr)
    assert rows[8]["status"] == "failed" and rows[8]["final_cost"] == ""
    assert rows[8]["error"] == "ValueError: boom"
    js = res.json_records()
    text = "\n".join(json.dumps(r, allow_nan=False) for r in js)  # strict JSON, NaN as a string
    assert json.loads(text.splitlines()[-1])["final_cost"] == "nan"
    assert js[0]["sweep"] == 7 and js[0]["values"]["hidden"] == [8]


def test_summary_table_groups_over_seeds(res) -> None:
    headers, rows = res.summary()
    assert headers[:7] == ["hidden", "init", "cells", "ok", "diverged", "failed", "final cost"]
    assert rows[2][:7] == ["8x2", "a", 3, 2, 0, 1, pytest.approx(0.3)]
    assert rows[3][:7] == ["8x2", "b", 3, 2, 1, 0, pytest.approx(1.5)]
    assert headers[-1] == "verdict" and rows[3][-1] == "vanishing"


def test_dataframe_when_pandas_is_installed(res) -> None:
    pytest.importorskip("pandas")
    df = res.to_dataframe()
    assert list(df.columns[:4]) == ["cell", "hidden", "init", "seed"]
    assert len(df) == 12 and df["final_cost"].iloc[1] == 0.2


def test_figures_draw(res, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from initlab.report import figures

    for fig in (
        figures.sweep_heatmap(res.grid("final_cost", "init", "hidden")),
        figures.sweep_heatmap(res.grid("verdict", "init", "hidden")),
        figures.sweep_lines(res.band("final_cost", "hidden")),
    ):
        png = figures.figure_to_png(fig)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
