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
from initlab.store import writing as W


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
        real = W.dumps

        def flaky(obj):
            calls["n"] += 1
            if calls["n"] == 8:  # after the batch row and part of the first run
                raise KeyboardInterrupt
            return real(obj)

        monkeypatch.setattr(W, "dumps", flaky)
        with pytest.raises(KeyboardInterrupt):
            _save(st, trained, sid, key="cut")
        monkeypatch.setattr(W, "dumps", real)
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
        with pytest.raises(StoreError, match="'abc' is not a whole number"):
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


# ------------------------------------------------------------- a store in a bad state


def _stored(tmp_path, trained, name="s.sqlite"):
    """A store file holding one study with one population of two runs."""
    p = tmp_path / name
    with Store(p) as st:
        sid = st.begin_study({}, {})
        _save(st, trained, sid)
        st.finish_study(sid, "complete", 1.0)
    return p


def _one_line(message: str, path) -> None:
    assert "\n" not in message and str(path) in message


def test_huge_and_bad_ids_name_the_allowed_range_and_the_file(tmp_path, trained):
    p = _stored(tmp_path, trained)
    with Store(p) as st:
        for call in (
            lambda: st.run(9999999999999999999999),
            lambda: st.run("9999999999999999999999"),
            lambda: st.run(2**63),
            lambda: st.study(10**30),
            lambda: st.runs(study_id=2**64),
            lambda: st.delete_run(-3),
            lambda: st.export_run(1.5),
            lambda: st.run(True),
        ):
            with pytest.raises(
                StoreError, match="not a whole number from 1 to 9223372036854775807"
            ):
                call()
        # the bound itself is a valid id, just not in this store
        with pytest.raises(StoreError, match="no run with id 9223372036854775807"):
            st.run(S.MAX_ID)
        for bad in (0, -5, 10**23, 2**63, 1.0, True):
            with pytest.raises(StoreError, match=r"limit must be a whole number from 1"):
                st.runs(limit=bad)
        assert len(st.runs(limit=1)) == 1 and st.count_runs() == 2


def test_empty_meta_table_is_one_clear_line(tmp_path, trained):
    p = _stored(tmp_path, trained)
    con = sqlite3.connect(p)
    con.execute("DELETE FROM meta")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="has no schema_version in its meta table") as e:
        Store(p)
    _one_line(str(e.value), p)


def test_non_numeric_schema_version_is_one_clear_line(tmp_path, trained):
    p = _stored(tmp_path, trained)
    con = sqlite3.connect(p)
    con.execute("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema_version 'abc', not a whole number") as e:
        Store(p)
    _one_line(str(e.value), p)


def test_corrupted_pages_say_damaged_and_how_to_recover(tmp_path, trained):
    p = _stored(tmp_path, trained)
    raw = bytearray(p.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    assert len(raw) // page > 4
    for start in range(page, len(raw), page):  # every page but the first (header, schema)
        raw[start : start + 64] = b"\xff" * 64
    p.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="is damaged") as e:
        with Store(p) as st:
            st.runs()
    msg = str(e.value)
    _one_line(msg, p)
    assert "initlab runs export ID" in msg and "--store NEW.sqlite" in msg


def test_a_file_that_is_not_sqlite_says_to_start_a_new_store(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not an initlab run store.*--store NEW.sqlite") as e:
        Store(junk)
    _one_line(str(e.value), junk)


@pytest.fixture
def read_only(tmp_path, trained):
    """A store file this process cannot write: chmod 444, or for root (who writes any file
    regardless of its mode) the immutable attribute."""
    import os
    import shutil
    import subprocess

    p = _stored(tmp_path, trained)
    if os.geteuid() != 0:
        p.chmod(0o444)
        tmp_path.chmod(0o555)  # nor create a journal next to it
        yield p
        tmp_path.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(p)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i: no file is read-only to this process")
    try:
        yield p
    finally:
        subprocess.run([chattr, "-i", str(p)], check=True)


def test_read_only_store_reads_and_refuses_writes_in_one_line(read_only):
    p = read_only
    with Store(p) as st:
        assert st.readonly
        assert len(st.runs()) == 2 and st.study(1)["status"] == "complete"
        for write in (
            lambda: st.delete_run(1),
            lambda: st.begin_study({}, {}),
            lambda: st.finish_study(1, "failed"),
        ):
            with pytest.raises(StoreError, match="is read-only") as e:
                write()
            _one_line(str(e.value), p)
    assert Store(p, create=False).runs()  # still intact


def test_create_false_does_not_create(tmp_path):
    p = tmp_path / "missing.sqlite"
    with pytest.raises(StoreError, match="no run store at"):
        Store(p, create=False)
    assert not p.exists()


def test_stale_running_study_of_a_dead_process_is_marked_interrupted(tmp_path):
    """A study whose recorded process no longer exists is marked interrupted on the next open;
    one whose process is alive (this one) stays running."""
    import os
    import subprocess
    import sys

    p = tmp_path / "s.sqlite"
    with Store(p) as st:
        mine = st.begin_study({}, {})
        theirs = st.begin_study({}, {})
        assert st.notes == []
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that existed and is gone (and reaped)
    con = sqlite3.connect(p)
    con.execute("UPDATE study_owners SET pid = ? WHERE study_id = ?", (child.pid, theirs))
    con.commit()
    con.close()
    with Store(p) as st:
        assert st.study(theirs)["status"] == "interrupted"
        assert st.study(mine)["status"] == "running"
        assert st.notes == [
            f"study {theirs} was still marked running, but its process (pid {child.pid}) is "
            "gone: marked interrupted"
        ]
    with Store(p) as st:
        assert st.notes == []  # said once
    assert os.getpid() != child.pid


def test_a_reused_pid_does_not_keep_a_study_running(tmp_path):
    """The pid is alive, but it is another process than the one recorded (another start
    time): the study is stale."""
    from initlab._process import process_started

    if not process_started(1):
        pytest.skip("process start times are read from /proc (Linux)")
    import os

    p = tmp_path / "s.sqlite"
    with Store(p) as st:
        sid = st.begin_study({}, {})
    con = sqlite3.connect(p)
    con.execute("UPDATE study_owners SET started = 'another-boot:1' WHERE study_id = ?", (sid,))
    con.commit()
    con.close()
    with Store(p) as st:
        assert st.study(sid)["status"] == "interrupted"
        assert f"pid {os.getpid()}" in st.notes[0]


def test_older_store_without_owner_table_gains_it(tmp_path):
    p = tmp_path / "s.sqlite"
    with Store(p) as st:
        st.conn.execute("DROP TABLE study_owners")
    with Store(p) as st:  # reopened: the table is added, and begin_study works
        assert st.begin_study({}, {}) == 1
        assert st.conn.execute("SELECT count(*) FROM study_owners").fetchone()[0] == 1


def test_process_identity_tells_a_live_process_from_a_gone_or_reused_one():
    import os
    import subprocess
    import sys

    from initlab._process import process_alive, process_started

    me = os.getpid()
    assert process_alive(me, process_started(me))
    assert process_alive(me, "")  # no start time recorded: the pid alone decides
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid, "")
    if process_started(me):  # Linux: the start time tells a reused pid
        assert not process_alive(me, "another-boot:1")


class _InterruptAfterBegin:
    """A connection whose first ``BEGIN`` is interrupted right after it ran (Ctrl-C landing
    between ``BEGIN IMMEDIATE`` and the block of ``Store.transaction``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.armed = conn, True

    def execute(self, sql: str, *args):
        out = self.conn.execute(sql, *args)
        if sql.startswith("BEGIN") and self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return out

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def test_an_interrupt_right_after_begin_leaves_the_next_transaction_working(tmp_path):
    """The sweep driver saves its state after a Ctrl-C; an interrupt landing just after BEGIN
    used to leave that transaction open, and the next BEGIN failed ("cannot start a
    transaction within a transaction"), a traceback instead of exit 130."""
    with Store(tmp_path / "r.sqlite") as st:
        real = st.conn
        st.conn = _InterruptAfterBegin(real)
        with pytest.raises(KeyboardInterrupt):
            with st.transaction() as c:
                c.execute("CREATE TABLE never (x)")  # not reached
        assert real.in_transaction  # what the interrupt left
        with st.transaction() as c:
            c.execute("CREATE TABLE t (x)")
            c.execute("INSERT INTO t VALUES (1)")
        assert not real.in_transaction
        st.conn = real
        assert [tuple(r) for r in real.execute("SELECT x FROM t")] == [(1,)]
