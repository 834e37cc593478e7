"""Planning: cells in grid order, batching into populations, the cost model."""

from __future__ import annotations

import pytest

from initlab.config import RunConfig
from initlab.sweep import SweepSpecError, cell_flops, grid, make_plan


def test_cells_first_axis_slowest_and_configs_applied() -> None:
    plan = make_plan(grid({"hidden": "4x1..4x2", "seed": "0..2"}, steps=5))
    assert [c.values for c in plan.cells[:4]] == [
        {"hidden": (4,), "seed": 0},
        {"hidden": (4,), "seed": 1},
        {"hidden": (4,), "seed": 2},
        {"hidden": (4, 4), "seed": 0},
    ]
    assert plan.cells[3].config == RunConfig(hidden=(4, 4), seed=0, steps=5)
    assert len({c.key for c in plan.cells}) == 6


def test_member_fields_share_a_population_other_fields_do_not() -> None:
    # init, bias_init, seed and lr may vary inside a population; hidden and activation may not
    g = grid(
        {
            "seed": "0..2",
            "init": "he_normal,xavier_normal",
            "lr": "0.1,0.01",
            "bias_init": "zeros,torch_default_bias",
            "activation": "relu,tanh",
            "hidden": "4x1,4x2",
        },
        steps=5,
    )
    plan = make_plan(g, max_population=100)
    assert len(plan.cells) == 3 * 2 * 2 * 2 * 2 * 2
    assert len(plan.populations) == 4  # activation x hidden
    assert plan.population_sizes() == {24: 4}
    for p in plan.populations:
        cs = [plan.cells[i].config for i in p.cells]
        assert len({(c.activation, c.hidden) for c in cs}) == 1


def test_max_population_cuts_groups_into_near_equal_parts() -> None:
    plan = make_plan(grid({"seed": "0..39"}, steps=5), max_population=16)
    assert plan.population_sizes() == {14: 2, 12: 1}  # 40 = 14 + 14 + 12, not 16 + 16 + 8
    assert sorted(i for p in plan.populations for i in p.cells) == list(range(40))


def test_minibatch_keeps_seeds_apart() -> None:
    """With mini-batches the data order comes from the population's first seed, so cells
    with different seeds must not share a population."""
    plan = make_plan(grid({"seed": "0..3", "lr": "0.1,0.01"}, steps=5, batch_size=8))
    assert len(plan.populations) == 4
    for p in plan.populations:
        assert len({plan.cells[i].config.seed for i in p.cells}) == 1


def test_plan_key_is_the_sweeps_identity() -> None:
    a = make_plan(grid({"seed": "0..3"}, steps=5))
    assert a.key == make_plan(grid({"seed": "0..3"}, steps=5), max_population=2).key
    assert a.key != make_plan(grid({"seed": "0..4"}, steps=5)).key
    assert a.key != make_plan(grid({"seed": "0..3"}, steps=6)).key
    assert a.key != make_plan(grid({"seed": "0..3"}, steps=5), options={"target": 0.1}).key


def test_bad_max_population() -> None:
    with pytest.raises(SweepSpecError) as e:
        make_plan(grid({"seed": "0..3"}), max_population=0)
    assert e.value.field == "max_population" and e.value.value == 0


def test_flops_of_one_cell_by_hand() -> None:
    # circles with 40 points: 30 train / 10 test, 2 features, 1 output; layers 2-8-1
    cfg = RunConfig(n_samples=40, hidden=(8,), steps=100)
    s = 2 * 8 + 8 * 1
    evals = 100 // 2 + 1  # every max(1, 100 // 50) = 2 steps, plus step 0
    assert cell_flops(cfg) == 6 * 30 * s * 100 + 2 * 40 * s * (evals + 1)
    # a mini-batch of 10 counts 10 examples per step
    mb = cfg.replace(batch_size=10)
    assert cell_flops(mb) == 6 * 10 * s * 100 + 2 * 40 * s * (evals + 1)


def test_estimate_adds_the_cells() -> None:
    plan = make_plan(grid({"seed": "0..3", "hidden": "8x1,8x2"}, n_samples=40, steps=100))
    est = plan.estimate()
    assert est["cells"] == 8 and est["populations"] == 2
    assert est["flops"] == sum(cell_flops(c.config) for c in plan.cells)
    assert est["seconds"] > 0 and est["unknown"] == 0
    # two populations: two workers halve the time, more cannot
    assert plan.seconds_on(2) == pytest.approx(max(est["seconds"] / 2, est["longest_population_s"]))
    assert plan.seconds_on(8) == est["longest_population_s"]


def test_package_docstring_example() -> None:
    import doctest

    import initlab.sweep

    result = doctest.testmod(initlab.sweep)
    assert result.attempted >= 3 and result.failed == 0
