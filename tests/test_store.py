"""The run store: schema, exact round trip of a trained population, transactions, errors."""

import json
import math
import sqlite3

import numpy as np
import pytest

from initlab import store as S
from initlab.config import RunConfig, run
from initlab.diagnostics import LayerStats, verdict
from initlab.store import Store, StoreError, default_path, plain_json


@pytest.fixture(scope="module")
def trained():
    base = RunConfig(hidden=(4, 3), activation="tanh", optimizer="gd", lr=0.5, steps=12)
    configs = [base.replace(init="xavier_normal", seed=0), base.replace(init="large", seed=1)]
    result = run(configs, [LayerStats(every=4)], eval_every=4)
    members = [("xavier_normal", 0), ("large", 1)]
    verdicts = [[f.to_dict() for f in verdict(result.history, k)] for k in range(2)]
    return result, members, verdicts


def _save(st, trained, study_id=None, key="p"):
    result, members, verdicts = trained
    return st.save_population(
        study_id, key, "test", {"members": members}, result, members, verdicts
    )


def test_default_path_env(monkeypatch, tmp_path):
    monkeypatch.delenv(S.ENV_VAR, raising=False)
    assert default_path() == S.DEFAULT_PATH
    monkeypatch.setenv(S.ENV_VAR, str(tmp_path / "x.sqlite"))
    assert default_path() == tmp_path / "x.sqlite"


def test_schema_version_and_reopen(tmp_path):
    p = tmp_path / "sub" / "runs.sqlite"
    with Store(p) as st:
        assert st.schema_version == S.SCHEMA_VERSION
        sid = st.begin_study({"quick": True}, {"seeds": [0]})
    with Store(p) as st:  # reopening keeps the data and does not recreate the schema
        assert st.study(sid)["status"] == "running"
        assert st.study("latest")["id"] == sid


def test_population_round_trip_is_exact(tmp_path, trained):
    result, members, _ = trained
    with Store(tmp_path / "r.sqlite") as st:
        sid = st.begin_study({}, {})
        ids = _save(st, trained, sid)
        assert len(ids) == 2
        b = st.batch(sid, "p")
        h = result.history
        for k, r in enumerate(b["runs"]):
            assert r["scheme"] == members[k][0] and r["seed"] == members[k][1]
            assert np.array_equal(r["cost"], h.cost[k])  # bit for bit
            for p, q in zip(r["params"], result.net.params, strict=True):
                assert np.array_equal(p, q[k])
            mine = [x for x in h.records["layer_stats"]["records"] if x["member"] == k]
            assert r["layer_stats"] == json.loads(json.dumps(mine))
            assert r["config"] == result.configs[k].to_dict()
            test = h.records["test"]
            assert r["evals"]["test"]["cost"] == np.asarray(test["cost"])[:, k].tolist()
        one = st.run(ids[1])
        assert one["population"] == "p" and one["stats"]["edges"]["grad_log10"]
        assert [r["id"] for r in st.runs(sid)] == sorted(ids, reverse=True)


def test_export_is_standard_json(tmp_path, trained):
    with Store(tmp_path / "r.sqlite") as st:
        ids = _save(st, trained)
        data = st.export_run(ids[0])
    text = json.dumps(data, allow_nan=False)  # raises on NaN/inf
    back = json.loads(text)
    assert back["schema_version"] == S.SCHEMA_VERSION
    assert len(back["cost"]) == 12


def test_delete_run_and_study(tmp_path, trained):
    with Store(tmp_path / "r.sqlite") as st:
        sid = st.begin_study({}, {})
        ids = _save(st, trained, sid)
        st.delete_run(ids[0])
        with pytest.raises(StoreError, match="no run with id"):
            st.run(ids[0])
        with pytest.raises(StoreError, match="1 of its 2 runs"):
            st.batch(sid, "p")
        assert st.delete_study(sid) == 1
        assert st.runs() == []
        with pytest.raises(StoreError):
            st.delete_run(ids[1])


def test_write_is_one_transaction(tmp_path, trained, monkeypatch):
    """An interruption in the middle of writing a population leaves nothing of it."""
    p = tmp_path / "r.sqlite"
    with Store(p) as st:
        sid = st.begin_study({}, {})
        _save(st, trained, sid, key="done")
        calls = {"n": 0}
        real = S._dumps

        def flaky(obj):
            calls["n"] += 1
            if calls["n"] == 8:  # after the batch row and part of the first run
                raise KeyboardInterrupt
            return real(obj)

        monkeypatch.setattr(S, "_dumps", flaky)
        with pytest.raises(KeyboardInterrupt):
            _save(st, trained, sid, key="cut")
        monkeypatch.setattr(S, "_dumps", real)
    with Store(p) as st:  # readable, the completed population intact, nothing of the cut one
        assert len(st.batch(sid, "done")["runs"]) == 2
        with pytest.raises(StoreError, match="no stored population 'cut'"):
            st.batch(sid, "cut")
        assert len(st.runs(sid)) == 2


def test_nan_final_cost_round_trips(tmp_path, trained):
    result, members, verdicts = trained
    result.history.final_cost[1] = math.nan
    try:
        with Store(tmp_path / "r.sqlite") as st:
            ids = st.save_population(None, "p", "", {}, result, members, verdicts)
            assert st.run(ids[1])["final_cost"] is None  # SQLite keeps NaN as NULL
            assert st.export_run(ids[1])["final_cost"] is None
    finally:
        result.history.final_cost[1] = result.history.final_cost[0]


def test_errors(tmp_path, trained):
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not an initlab run store"):
        Store(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError):
        Store(junk)
    newer = tmp_path / "newer.sqlite"
    with Store(newer) as st:
        st.conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 999"):
        Store(newer)
    with Store(tmp_path / "ok.sqlite") as st:
        with pytest.raises(StoreError, match="integer"):
            st.run("abc")
        with pytest.raises(StoreError, match="no study"):
            st.study(5)
        with pytest.raises(StoreError, match="holds no study"):
            st.study("latest")
        with pytest.raises(ValueError, match="status"):
            st.finish_study(1, "bogus")
        result, members, verdicts = trained
        with pytest.raises(ValueError, match="one entry per population member"):
            st.save_population(None, "p", "", {}, result, members[:1], verdicts)


def test_plain_json():
    x = {"a": np.float64("nan"), "b": [np.inf, -np.inf, np.int64(3)], "c": np.arange(2.0)}
    assert plain_json(x) == {"a": "nan", "b": ["inf", "-inf", 3], "c": [0.0, 1.0]}
    json.dumps(plain_json(x), allow_nan=False)
