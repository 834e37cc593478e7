"""The grid spec: value syntax, TOML files, and errors that name field, value and allowed."""

from __future__ import annotations

import math

import pytest

from initlab.config import RunConfig
from initlab.sweep import SweepSpecError, grid, make_plan, parse_axis, parse_values
from initlab.sweep.spec import load_toml


def test_integer_range_includes_both_ends() -> None:
    assert parse_values("seed", "0..19") == tuple(range(20))
    assert parse_values("seed", "3") == (3,)
    assert parse_values("seed", "0..2,7") == (0, 1, 2, 7)


def test_log_and_lin_ranges() -> None:
    lr = parse_values("lr", "1e-3..1e-1:log5")
    expected = [1e-3, 10**-2.5, 1e-2, 10**-1.5, 1e-1]
    assert len(lr) == 5
    for got, want in zip(lr, expected, strict=True):
        assert math.isclose(got, want, rel_tol=1e-12)
    assert parse_values("noise", "0..0.3:lin4") == pytest.approx((0.0, 0.1, 0.2, 0.3))
    # integer fields: points rounded to the nearest integer
    assert parse_values("steps", "10..1000:log3") == (10, 100, 1000)


def test_hidden_depth_ranges_and_explicit_widths() -> None:
    depths = parse_values("hidden", "64x1..64x32")
    assert len(depths) == 32
    assert depths[0] == (64,) and depths[-1] == (64,) * 32
    assert parse_values("hidden", "8x2,10/5") == ((8, 8), (10, 5))
    # depths 1, 4.5, 8: a half rounds up
    assert parse_values("hidden", "16x1..16x8:lin3") == ((16,), (16,) * 5, (16,) * 8)


def test_names_keep_scheme_parameters_and_braces_expand() -> None:
    assert parse_values("init", "he_normal,xavier_normal") == ("he_normal", "xavier_normal")
    assert parse_values("init", "random_normal:std=0.5,mean=0,he_normal") == (
        "random_normal:std=0.5,mean=0",
        "he_normal",
    )
    assert parse_values("init", "variance_scaling:scale={1..2:lin3}") == (
        "variance_scaling:scale=1",
        "variance_scaling:scale=1.5",
        "variance_scaling:scale=2",
    )
    assert parse_values("activation", "{tanh,relu}") == ("tanh", "relu")


def test_parse_axis_and_dashes() -> None:
    a = parse_axis("bias-init=zeros,torch_default_bias")
    assert a.field == "bias_init" and a.values == ("zeros", "torch_default_bias")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("lrate=0.1", "field", "lrate"),
        ("seed=0..x", "seed", "x"),
        ("lr=1e-3..1e-1", "lr", "1e-3..1e-1"),
        ("lr=0..1e-1:log3", "lr", "0..1e-1:log3"),
        ("seed=5..2", "seed", "5..2"),
        ("hidden=64x1..32x4", "hidden", "64x1..32x4"),
        ("hidden=wide", "hidden", "wide"),
        ("seed=1,1", "seed", 1),
        ("seed", "grid", "seed"),
        ("lr=1e-3..1e-1:cubic3", "lr", "1e-3..1e-1:cubic3"),
        ("steps=1..3:lin5", "steps", "1..3:lin5"),
        ("init=a:{1,2", "init", "a:{1,2"),
    ],
)
def test_bad_axes_name_field_value_allowed(text: str, field: str, value: object) -> None:
    with pytest.raises(SweepSpecError) as e:
        parse_axis(text)
    assert e.value.field == field
    assert e.value.value == value
    assert e.value.allowed
    assert repr(value) in str(e.value) and e.value.allowed in str(e.value)


def test_a_cell_that_runconfig_rejects_names_the_axis() -> None:
    with pytest.raises(SweepSpecError) as e:
        make_plan(grid({"seed": "0..1", "lr": "-1,0.1"}))
    assert e.value.field == "lr" and "lr=-1" in str(e.value)
    with pytest.raises(SweepSpecError) as e:
        make_plan(grid({"init": "he_normal,no_such_scheme"}))
    assert e.value.value == "no_such_scheme"


def test_field_swept_twice_is_an_error() -> None:
    with pytest.raises(SweepSpecError) as e:
        grid([parse_axis("seed=0..1"), parse_axis("seed=2..3")])
    assert e.value.field == "seed"


def test_toml_file(tmp_path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        '[fixed]\nactivation = "tanh"\nsteps = 30\nhidden = [8, 8]\n'
        '[grid]\nseed = "0..2"\ninit = ["he_normal", "variance_scaling:scale={1,2}"]\n'
        "lr = [0.1, 0.01]\n"
        "[sweep]\nmax_population = 4\n"
    )
    fixed, axes, options = load_toml(f)
    assert fixed == {"activation": "tanh", "steps": 30, "hidden": (8, 8)}
    assert [a.field for a in axes] == ["seed", "init", "lr"]
    assert axes[1].values == (
        "he_normal",
        "variance_scaling:scale=1",
        "variance_scaling:scale=2",
    )
    assert axes[2].values == (0.1, 0.01)
    assert options == {"max_population": 4}
    g = grid(axes, RunConfig(**fixed))
    assert g.n_cells == 3 * 3 * 2


def test_bad_toml(tmp_path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[grid]\nseed = \n")
    with pytest.raises(SweepSpecError) as e:
        load_toml(f)
    assert e.value.field == "spec"
    f.write_text('[grids]\nseed = "0..1"\n')
    with pytest.raises(SweepSpecError) as e:
        load_toml(f)
    assert e.value.value == "grids"
    with pytest.raises(SweepSpecError):
        load_toml(tmp_path / "missing.toml")


def test_the_worked_example_file_plans_as_documented() -> None:
    """examples/sweep_schoenholz.toml (docs/sweeps.md): 7 sigma_w^2 x 6 depths x 3 seeds."""
    from pathlib import Path

    f = Path(__file__).resolve().parents[1] / "examples" / "sweep_schoenholz.toml"
    fixed, axes, options = load_toml(f)
    plan = make_plan(grid(axes, RunConfig(**fixed)), **options)
    assert len(plan.cells) == 126 and plan.population_sizes() == {21: 6}
    sw2 = [float(v.split("scale=")[1].split(",")[0]) for v in axes[0].values]
    assert sw2 == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert plan.cells[0].config.bias_init == "random_normal:std=0.2236"  # sigma_b^2 = 0.05
    assert [len(h) for h in axes[1].values] == [2, 8, 14, 20, 26, 32]
