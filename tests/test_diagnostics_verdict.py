"""The two-part verdict: typed records, rules as functions with evidence, severity order, the
training rules (exploded, stalled, unstable, dead units grew) on a case that must trigger each
and one that must not, and the sentence."""

import dataclasses

import numpy as np
import pytest

from initlab import diagnostics as D
from initlab.data import circles
from initlab.network import init_network
from initlab.train import History, fit


def _run(sizes, act, init, opt="gd", lr=0.1, steps=100, bias="zeros", seed=0):
    X, y = circles(200, seed=0)
    net = init_network(sizes, act, "sigmoid", init, bias, seed=seed)
    return fit(
        net,
        X,
        y.reshape(-1, 1).astype(float),
        optimizer=opt,
        lr=lr,
        steps=steps,
        probes=[D.LayerStats(every=max(1, steps // 4), histograms=False)],
    )


def _with_cost(h, cost):
    """The same records under another cost curve (a constructed outcome)."""
    return dataclasses.replace(h, cost=np.asarray(cost, dtype=float)[None, :])


@pytest.fixture(scope="module")
def healthy():
    return _run([2, 16, 16, 1], "relu", "he_normal", steps=100)


def test_records_are_typed_and_round_trip(healthy):
    rows = D.layer_stats(healthy)
    assert all(isinstance(r, D.LayerRecord) for r in rows)
    r = rows[0]
    assert r.layer == 1 and r.kind == "dense" and r.fan_in == 2 and r.boundary is None
    assert r["dZ_norm"] == r.dZ_norm  # the JSON form's keys read the same fields
    assert D.LayerRecord.from_dict(r.to_dict()) == r
    with pytest.raises(ValueError, match="lacks layer"):
        D.LayerRecord.from_dict(
            {"step": 0, "member": 0, "units": 3, "activation": "relu", "hidden": True}
        )


def test_finding_is_built_with_keywords_and_ordered_by_severity():
    with pytest.raises(TypeError):
        D.Finding("vanishing", "message")  # positional arguments are refused
    h = _run([2, 8, 8, 8, 1], "relu", "zeros", steps=30)
    found = D.verdict(h)
    sev = [f.severity for f in found]
    assert sev == sorted(sev, reverse=True) and found[0].severity == D.SEVERITY["symmetric"]


def test_healthy_run_has_both_parts_and_a_healthy_sentence(healthy):
    v = D.judge(healthy)
    assert v.status == "healthy" and v.modes == ["healthy"]
    assert v.sentence.startswith("Healthy: cost fell") and v.outcome.fell > 0.01
    assert v.init_figures["links"] == 1 and v.init_figures["backward_factor"] is not None
    d = v.to_dict()
    assert set(d) >= {"sentence", "at_init", "in_training", "findings", "status"}


def test_exploded_trigger_and_not(healthy):
    # the cost of the issue's `--lr 1e6` run: 0.82 -> 1.5e5 without NaN
    grown = np.concatenate([np.linspace(0.82, 1e3, 50), np.full(50, 1.5e5)])
    v = D.judge(_with_cost(healthy, grown))
    assert v.status == "exploded" and "exploded" in v.modes and "healthy" not in v.modes
    assert v.sentence.startswith("Exploded: the cost grew")
    f = [x for x in v.in_training if x.mode == "exploded"][0]
    assert f.figure > D.THRESHOLDS.exploded_factor and f.part == "training"
    # grew x5 only: not exploded (below the x10 threshold), but never healthy: stalled
    v = D.judge(_with_cost(healthy, np.linspace(0.8, 4.0, 100)))
    assert "exploded" not in v.modes and "stalled" in v.modes and v.status == "never_learned"


def test_stalled_trigger_and_not(healthy):
    flat = np.full(100, 0.693) - np.linspace(0, 0.003, 100)  # fell 0.4 %
    v = D.judge(_with_cost(healthy, flat))
    assert "stalled" in v.modes and v.sentence.startswith("Never learned")
    assert "stalled" not in D.judge(healthy).modes


def test_unstable_trigger_and_not(healthy):
    zigzag = np.tile([1.0, 0.3], 50) * np.linspace(1.0, 0.5, 100)  # falls, but rises at half
    v = D.judge(_with_cost(healthy, zigzag))
    assert "unstable" in v.modes and "stalled" not in v.modes
    assert "unstable" not in D.judge(healthy).modes


def test_nonfinite_anywhere_is_diverged(healthy):
    cost = np.linspace(0.7, 0.3, 100)
    cost[60] = np.inf
    v = D.judge(_with_cost(healthy, cost))
    assert v.status == "diverged" and "exploded" not in v.modes  # disjoint definitions


def test_dead_units_grew_trigger_and_not():
    h = _run([2, 10, 5, 1], "relu", "he_normal", opt="adam", lr=1e6, steps=50)
    v = D.judge(h)
    assert {"exploded", "dead_grew"} <= set(v.modes)
    assert "dead_grew" not in D.judge(_run([2, 10, 5, 1], "relu", "he_normal")).modes


def test_training_worked_although_gradients_vanished_with_adam():
    # the case: 32x5 tanh, small init, Adam: "vanishing" next to accuracy 1.0
    h = _run([2, 32, 32, 32, 32, 32, 1], "tanh", "small", opt="adam", lr=0.01, steps=400)
    v = D.judge(h)
    assert v.status == "learned" and "vanishing" in v.modes
    assert v.sentence.startswith("Training worked") and "although gradients shrank" in v.sentence
    assert "Adam rescales each parameter's step" in v.sentence
    # the same init with GD never learns, and says so first
    v = D.judge(_run([2, 32, 32, 32, 32, 32, 1], "tanh", "small", steps=100))
    assert v.status == "never_learned" and v.sentence.startswith("Never learned: gradients")


def test_symmetric_sentence_names_the_cause():
    v = D.judge(_run([2, 8, 8, 1], "tanh", "zeros", steps=50))
    assert v.sentence.startswith("Never learned: every hidden layer is one repeated unit")


def test_boundaries_are_not_judged(healthy):
    # a boundary after layer 1 leaves no judged link: the gradient rules say nothing
    deep = _run([2, 8, 8, 8, 1], "tanh", "random_normal:std=0.01", steps=2)
    assert "vanishing" in {f.mode for f in D.verdict(deep)}
    rec = deep.records["layer_stats"]["records"]
    cut = {
        **deep.records["layer_stats"],
        "records": [{**r, "boundary": "LayerNorm"} if r["layer"] in (1, 2) else r for r in rec],
    }
    h = dataclasses.replace(deep, records={"layer_stats": cut})
    v = D.judge(h, predict=False)
    grad = [f for f in v.at_init if f.mode == "vanishing" and "|dZ|" in f.message]
    assert not grad and any("LayerNorm" in b for b in v.boundaries)


def test_expected_factor_of_a_link_follows_the_fans():
    rows = [
        D.LayerRecord(step=0, member=0, layer=1, units=4, activation="relu", hidden=True),
        D.LayerRecord(
            step=0,
            member=0,
            layer=2,
            units=4,
            activation="relu",
            hidden=True,
            kind="conv_transpose",
            fan_in=36,
            connections=9.0,
        ),
    ]
    [(lo, up, e)] = D.links(rows)
    assert e == pytest.approx(0.5)  # sqrt(9 / 36): a stride-2 transposed conv in 2-D


def test_verdict_of_a_history_without_steps_is_at_init_only(healthy):
    h = History(
        cost=np.empty((1, 0)),
        final_cost=np.array([np.nan]),
        diverged_at=[None],
        steps_run=0,
        records=healthy.records,
        meta={},
    )
    v = D.judge(h)
    assert not v.outcome.trained and not v.in_training


def test_a_run_without_records_gets_the_training_part(capsys):
    from initlab.cli import main

    # the case: `initlab train --lr 1e6 --steps 50` printed `status ok` only
    assert main(["train", "--lr", "1e6", "--steps", "50"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("verdict")][0]
    assert "Exploded: the cost grew" in line and "not recorded" in line
    X, y = circles(200, seed=0)
    h = fit(init_network([2, 8, 1], seed=0), X, y.reshape(-1, 1).astype(float), steps=50)
    v = D.judge(h)
    assert v.status == "learned" and not v.at_init and v.sentence.startswith("Learned: cost fell")


def test_residual_blocks_are_boundaries_of_the_numpy_engine():
    X, y = circles(200, seed=0)
    net = init_network(
        [2, 16, 16, 16, 1], "relu", "sigmoid", "he_normal", residual=[None, 1.0, 1.0], seed=0
    )
    h = fit(
        net, X, y.reshape(-1, 1).astype(float), lr=0.1, steps=20, probes=[D.LayerStats(every=10)]
    )
    v = D.judge(h)
    assert [r.boundary for r in D.layer_stats(h) if r.step == 0] == ["residual join"] * 3 + [None]
    assert v.init_figures["links"] == 0 and "could be compared" in v.sentence


def test_slow_message_reads_as_a_sentence_when_the_target_is_never_reached():
    # a reference that falls from 1 to 0.1 and a run that stays at 1: the run never reaches the
    # reference's 90 % target (0.19), and the message says so in words ("never reaches")
    from initlab.diagnostics.evidence import Evidence
    from initlab.diagnostics.rules import slow

    ref = np.linspace(1.0, 0.1, 50)
    ev = Evidence(member=0, first=[], last=[], cost=np.ones(50), reference=ref)
    (f,) = slow(ev)
    assert f.message.startswith("never reaches cost 0.19 in 50 steps")
    assert "never;" not in f.message
