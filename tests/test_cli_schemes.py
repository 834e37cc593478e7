import json

import pytest

from initlab import schemes as S
from initlab.cli import main


def test_schemes_table_lists_every_scheme(capsys):
    assert main(["schemes", "--fan-in", "256", "--fan-out", "128"]) == 0
    out = capsys.readouterr().out
    for name in S.available():
        assert name in out
    assert "0.08839" in out  # he_normal std sqrt(2/256)
    assert "gain=1.41421, mode=fan_in" in out  # defaults, read from the definitions


def test_schemes_json_numbers(capsys):
    assert main(["schemes", "--fan-in", "100", "--fan-out", "300", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["xavier_uniform"]["bound"] == pytest.approx((6 / 400) ** 0.5)
    assert records["he_normal"]["std"] == pytest.approx((2 / 100) ** 0.5)
    assert "tanh" in records["xavier_normal"]["recommended_for"]
    assert records["small"]["defaults"] == {"std": 0.01}
    assert records["small"]["formula"] == "W ~ N(0, std^2)"


def test_schemes_bad_fan_is_a_clear_error(capsys):
    assert main(["schemes", "--fan-in", "-3"]) == 2
    assert "--fan-in must be a positive integer, got -3" in capsys.readouterr().err


def test_datasets_command_lists_every_data_set(capsys):
    from initlab import data

    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in data.available():
        assert out.count(f"{name}:") >= 1
    assert main(["datasets", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["circles"]["n_samples"] > 0
