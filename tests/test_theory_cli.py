"""``initlab theory``: both forms, JSON, figures, errors."""

import json

import pytest

from initlab import theory as T
from initlab.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def test_mean_field_form_prints_the_edge_of_chaos(capsys):
    assert main(["theory", "--activation", "relu"]) == 0
    out = capsys.readouterr().out
    assert "critical sigma_w^2 = 2," in out  # He: Var(W) = 2 / fan_in
    for word in ("q*", "chi_1", "c*", "xi_q", "xi_c", "he_normal", "edge of chaos", "ordered"):
        assert word in out


def test_mean_field_form_json_with_bias(capsys):
    assert main(["theory", "--activation", "tanh", "--sigma-b", "0.05", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sigma_b2"] == pytest.approx(0.0025)
    assert report["critical"]["sigma_w2"] == pytest.approx(
        T.critical_sigma_w2("tanh", 0.0025), rel=1e-12
    )
    phases = {p["from"]: p["phase"] for p in report["points"]}
    assert phases["edge of chaos"] == "critical"
    assert phases["he_normal"] == "chaotic"  # sigma_w^2 = 2 > 1.26
    assert phases["torch_default"] == "ordered"  # sigma_w^2 = 1/3


def test_mean_field_form_with_chosen_sigma_w2(capsys):
    assert main(["theory", "--activation", "tanh", "--sigma-w2", "0.5,3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    values = sorted(p["sigma_w2"] for p in report["points"])
    assert values == pytest.approx([0.5, 1.0, 3.0])  # with the critical one


def test_network_form_prints_the_table_and_the_verdict(capsys):
    args = ["theory", "--layers", "784,300,300,300,10", "--activation", "tanh"]
    assert main([*args, "--init", "xavier_normal"]) == 0
    out = capsys.readouterr().out
    for fans in ("784->300", "300->300", "300->10"):
        assert fans in out
    assert "Var(Z)" in out and "Var(dZ)" in out
    assert "verdict: stable" in out
    assert main([*args, "--init", "small"]) == 0
    assert "verdict: vanishing" in capsys.readouterr().out


def test_network_form_json_matches_the_library(capsys):
    args = ["theory", "--layers", "50,40,30", "--activation", "relu", "--sigma-b", "0.1"]
    assert main([*args, "--json"]) == 0  # default init: the first recommended for relu
    data = json.loads(capsys.readouterr().out)
    expected = T.predict_network([50, 40, 30], "relu", "he_normal", 0.01)
    assert [r["q"] for r in data["layers"]] == pytest.approx(expected.q_forward, rel=1e-12)
    assert data["verdict"] == expected.verdict


def test_plots_are_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "figs"
    assert main(["theory", "--activation", "tanh", "--plot", str(folder), "--grid", "5"]) == 0
    phase = folder / "theory_phase_tanh.png"
    assert phase.read_bytes()[:8] == PNG
    assert str(phase) in capsys.readouterr().out
    args = ["theory", "--layers", "20,30,30,5", "--activation", "tanh", "--plot", str(folder)]
    assert main(args) == 0
    assert (folder / "theory_layers.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--layers", "784"], "depth >= 1"),
        (["--layers", "784,x,10"], "--layers must be comma-separated integers"),
        (["--activation", "swishy"], "activation='swishy' is not allowed"),
        (["--sigma-b", "-1"], "--sigma-b must be a finite number >= 0"),
        (["--layers", "10,10,2", "--init", "constant"], "mean 0.5"),
        (["--sigma-w2", "1,a"], "--sigma-w2 must be comma-separated numbers"),
        (["--sigma-w2", "-1"], "--sigma-w2 -1: must be >= 0"),
        (["--layers", "10,5", "--sigma-w2", "1"], "--sigma-w2 is for the mean-field form"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert main(["theory", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("initlab theory: error:")
    assert message in err
