"""Errors that carry their field: RunConfig's declared constraints, the library's entry points
(fit, init_network), the CLI (the flag typed, the nearest name, outputs checked before
training) and the one JSON convention for diverged results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from initlab import _json
from initlab._checks import ParameterError, ParameterTypeError, suggest
from initlab.cli import main
from initlab.config import SPEC, RunConfig
from initlab.network import init_network
from initlab.train import fit

# ------------------------------------------------------------------------ ParameterError

BAD = [
    ("dataset", "cirles", "circles"),
    ("n_samples", 2, ">= 4"),
    ("noise", -0.5, ">= 0.0"),
    ("test_fraction", 1.0, "< 1.0"),
    ("data_seed", -3, ">= 0"),
    ("hidden", [4, 0], ">= 1"),
    ("activation", "rleu", "relu"),
    ("output_activation", "nope", "sigmoid"),
    ("loss", "hinge", "cross_entropy"),
    ("init", "he_normel", "he_normal"),
    ("bias_init", "zeros:oops", "zeros"),
    ("optimizer", "adan", "adam"),
    ("lr", 0.0, "> 0.0"),
    ("steps", 0, ">= 1"),
    ("batch_size", 0, ">= 1"),
    ("seed", -1, ">= 0"),
    ("dtype", "float16", "float64"),
]


def test_every_runconfig_field_has_a_declared_constraint():
    names = set(RunConfig().to_dict())
    assert set(SPEC) == names


@pytest.mark.parametrize(("field", "value", "hint"), BAD)
def test_a_bad_value_names_its_field_value_and_what_is_allowed(field, value, hint):
    with pytest.raises(ParameterError) as exc:
        RunConfig.from_dict({field: value})
    e = exc.value
    assert isinstance(e, ValueError)
    assert (e.field, e.value) == (field, value)
    assert e.allowed and isinstance(e.allowed, str)
    msg = str(e)
    assert field in msg and (repr(value) in msg or str(value) in msg)
    assert hint in msg or hint in e.allowed  # the bound, or the name it should have been


def test_type_errors_are_parameter_errors_too():
    for field, value in [("steps", 2.5), ("hidden", 5), ("lr", "abc"), ("seed", True)]:
        with pytest.raises(ParameterTypeError) as exc:
            RunConfig.from_dict({field: value})
        assert isinstance(exc.value, TypeError) and isinstance(exc.value, ValueError)
        assert exc.value.field == field


def test_unknown_fields_name_the_field_and_the_nearest_one():
    with pytest.raises(ParameterError) as exc:
        RunConfig.from_dict({"hiden": [3]})
    assert exc.value.field == "hiden" and "did you mean hidden?" in str(exc.value)


def test_suggest_only_close_names():
    assert suggest("he_normel", ["he_normal", "zeros"]) == " (did you mean he_normal?)"
    assert suggest("qqqqq", ["he_normal", "zeros"]) == ""
    assert suggest("he_normal:gain=2", ["he_normal"]) == ""  # the name is right


def test_parameter_errors_pickle_with_their_attributes():
    import pickle

    e = pickle.loads(pickle.dumps(ParameterError("lr", -1, "> 0", "lr must be > 0, got -1")))
    assert (e.field, e.value, e.allowed, str(e)) == ("lr", -1, "> 0", "lr must be > 0, got -1")


# -------------------------------------------------------------------------- the library


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    return init_network([2, 3, 1], "relu", "sigmoid", "he_normal", seed=0), X, (X[:, :1] > 0) * 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"X": np.empty((0, 2)), "Y": np.empty((0, 1))}, "X"),  # was ZeroDivisionError
        ({"optimizer": None}, "optimizer"),  # was AttributeError
        ({"optimizer": 3}, "optimizer"),
        ({"seed": -1}, "seed"),  # was numpy's message, without the name
        ({"seed": 1.5}, "seed"),
        ({"X": "complex"}, "X"),  # was silently cast to its real part
        ({"X": "text"}, "X"),
        ({"net": "not a network"}, "net"),
    ],
)
def test_fit_names_the_bad_parameter(problem, change, field):
    net, X, Y = problem
    args = {"net": net, "X": X, "Y": Y, "optimizer": "gd", "seed": 0, **change}
    if isinstance(args["X"], str):
        args["X"] = X + 1j if args["X"] == "complex" else np.full(X.shape, "a")
    with pytest.raises((ValueError, TypeError)) as exc:
        fit(args.pop("net"), args.pop("X"), args.pop("Y"), steps=2, **args)
    assert getattr(exc.value, "field", None) == field
    assert field in str(exc.value)


def test_a_run_too_long_to_record_names_steps(problem):
    # 2**50 steps of one member need a 2**53-byte (8 PiB) cost log: beyond any machine's memory
    # and address space, so the allocation fails whatever the OS's overcommit policy (it was a
    # bare MemoryError, found by test_fuzz_fit_long)
    net, X, Y = problem
    with pytest.raises(ParameterError) as exc:
        fit(net, X, Y, steps=2**50)
    assert exc.value.field == "steps" and str(2**50) in str(exc.value)
    assert net.weights[0].shape == (1, 2, 3)  # nothing ran


def test_complex_inputs_are_refused_not_truncated(problem):
    net, X, Y = problem
    with pytest.raises(TypeError, match="imaginary part"):
        fit(net, X + 1j, Y, steps=1)


@pytest.mark.parametrize("data", [np.ones((4, 5)), np.ones((0, 2)), np.ones((3, 2)) + 1j, None])
def test_lsuv_data_of_the_wrong_shape_is_named(data):
    with pytest.raises((ValueError, TypeError)) as exc:
        init_network([2, 3, 1], "relu", "sigmoid", "lsuv", data=data)
    assert exc.value.field == "data" and "data" in str(exc.value)
    if data is not None and data.shape == (4, 5):
        assert "(m, 2)" in str(exc.value) and "(4, 5)" in str(exc.value)


# ------------------------------------------------------------------------------ the CLI


def test_train_json_of_a_diverged_run_is_strict_json(capsys):
    code = main(["train", "--lr", "1e308", "--json", "--steps", "3"])
    assert code == 0
    out = capsys.readouterr().out
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert doc["result"]["final_cost"] in _json.NONFINITE  # "nan", "inf" or "-inf"
    assert math.isnan(_json.loads(out)["result"]["final_cost"]) or math.isinf(
        _json.loads(out)["result"]["final_cost"]
    )


def test_plot_of_a_diverged_run_draws_what_it_can(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs"
    argv = ["train", "--init", "large:std=1e150", "--steps", "20", "--plot", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "figures not drawn: cost.png" in text  # a diverged cost has no log scale
    drawn = sorted(p.name for p in out.glob("*.png"))
    assert "activations.png" in drawn and "cost.png" not in drawn
    for name in drawn:
        assert name in text


@pytest.fixture
def no_training(monkeypatch):
    import initlab.config as C
    import initlab.study as S

    def refuse(*a, **k):
        raise AssertionError("trained before checking where the output goes")

    monkeypatch.setattr(C, "run", refuse)
    monkeypatch.setattr(S, "run_study", refuse)


@pytest.mark.parametrize("where", ["/proc/nope", "/proc/self/status/x"])
def test_unwritable_output_folders_are_refused_before_training(where, no_training, capsys):
    assert main(["train", "--steps", "5", "--plot", where]) == 2
    err = capsys.readouterr().err
    assert f"--plot {where}:" in err and "Traceback" not in err
    assert main(["study", "--quick", "--no-store", "--out", where]) == 2
    assert f"--out {where}:" in capsys.readouterr().err


# ------------------------------------------------------------------- the JSON convention


def test_the_json_convention_is_strict_and_round_trips():
    x = {
        "a": np.float64("nan"),
        "b": [np.inf, -np.inf, np.int64(3), 1.5],
        "c": np.arange(2.0),
        "d": (1, None, True),
        "e": {1: np.float32(2.0)},
    }
    text = _json.dumps(x)
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert doc["a"] == "nan" and doc["b"][:2] == ["inf", "-inf"] and doc["e"] == {"1": 2.0}
    back = _json.loads(text)
    assert math.isnan(back["a"]) and back["b"] == [math.inf, -math.inf, 3, 1.5]
    assert back["c"] == [0.0, 1.0] and back["d"] == [1, None, True]
    assert _json.loads('{"x": NaN}')["x"] != _json.loads('{"x": NaN}')["x"]  # old files read
    assert _json.dumps({"k": 1.0}, indent=2) == json.dumps({"k": 1.0}, indent=2)


@pytest.mark.parametrize(
    ("args", "field", "value"),
    [
        (("hee_normal",), "weight_init", "hee_normal"),
        (("he_normal", "zeroes"), "bias_init", "zeroes"),
        (("",), "weight_init", ""),
        (("he_normal:0.5,x",), "weight_init", "he_normal:0.5,x"),
    ],
)
def test_init_network_scheme_errors_carry_their_field(args, field, value):
    from initlab._checks import ParameterError
    from initlab.network import init_network

    with pytest.raises(ParameterError) as e:
        init_network([2, 3, 1], "relu", "sigmoid", *args)
    assert (e.value.field, e.value.value) == (field, value)
    assert field in str(e.value) or "scheme" in str(e.value)
    assert e.value.allowed


def test_data_lr_and_population_errors_carry_their_field():
    from initlab import config
    from initlab.optim import get_optimizer

    net = init_network([2, 3, 1], "relu", "sigmoid", "he_normal", seed=0)
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    cases = [
        (lambda: fit(net, np.zeros((4, 3)), Y, steps=1), "X"),
        (lambda: fit(net, X, np.zeros((4, 2)), steps=1), "Y"),
        (lambda: fit(net, np.full((4, 2), np.nan), Y, steps=1), "X"),
        (lambda: get_optimizer("gd", np.array([[0.1]])), "lr"),
        (lambda: get_optimizer("gd", np.array([0.1, -1.0])), "lr"),
        (lambda: config.prepare([RunConfig(), RunConfig(steps=7)]), "steps"),
    ]
    for call, field in cases:
        with pytest.raises(ParameterError) as e:
            call()
        assert e.value.field == field, (field, str(e.value))
        assert e.value.allowed
