"""``initlab train`` end to end, with --diagnose, --plot and --json; the run figures."""

import json

import pytest

from initlab.cli import main

pytest.importorskip("matplotlib")


def test_train_prints_cost_and_accuracy(capsys):
    code = main(
        [
            "train",
            "--layers",
            "2,10,5,1",
            "--activation",
            "relu",
            "--init",
            "he_normal",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--steps",
            "400",
            "--dataset",
            "circles",
            "--seed",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "status   ok" in out and "test accuracy" in out
    acc = float(out.split("train accuracy ")[1].split(",")[0])
    assert acc > 0.9


def test_train_diagnose_plot_and_json(tmp_path, capsys):
    code = main(
        [
            "train",
            "--hidden",
            "16,16,16",
            "--activation",
            "tanh",
            "--init",
            "small",
            "--steps",
            "100",
            "--diagnose",
            "--plot",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert (
        code == 0
        and "verdict: Training worked" in out
        and "although gradients shrank" in out
        and "per-layer statistics" in out
    )
    for name in ("cost", "activations", "gradients", "update_ratio", "decision_boundary"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    code = main(
        ["train", "--hidden", "8,8", "--init", "zeros", "--steps", "50", "--diagnose", "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {v["mode"] for v in doc["verdict"]} >= {"symmetric", "no_learning"}
    assert doc["layer_stats"][0]["layer"] == 1
    assert doc["verdict_summary"]["sentence"].startswith("Never learned")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--layers", "3,10,1"], "does not fit data set 'circles'"),
        (["--init", "he_norml"], "unknown initialization scheme 'he_norml'"),
        (["--activation", "softmax"], "can only be an output activation"),
        (["--optimizer", "adamw"], "--optimizer adamw is not allowed; choose one of: gd,"),
        (["--optimizer", "adamw"], "(did you mean adam?)"),
        (["--lr", "-1"], "--lr -1.0: must be > 0"),
        (["--dataset", "mnist"], "--dataset mnist is not allowed"),
        (["--dataset", "cirles"], "(did you mean circles?)"),
        (["--init", "he_normel"], "(did you mean he_normal?)"),
        (["--activation", "rleu"], "(did you mean relu?)"),
        (["--steps", "0"], "--steps 0: must be an integer >= 1"),
        (["--layers", "2,0,1"], "--layers 2,0,1: size number 2 is 0"),
        (["--hidden", "4,-1"], "--hidden 4,-1: size number 2 is -1"),
    ],
)
def test_train_bad_options_are_clear_errors(argv, message, capsys):
    assert (
        main(["train", "--steps", "5", *argv] if "--steps" not in argv else ["train", *argv]) == 2
    )
    err = capsys.readouterr().err
    assert message in err
    assert "hidden[" not in err and "Traceback" not in err  # the flag typed, not the field


def test_decision_boundary_needs_2d_data():
    from initlab.config import RunConfig, run
    from initlab.report import decision_boundary

    r = run(RunConfig(dataset="breast_cancer", hidden=(4,), steps=2))
    with pytest.raises(ValueError, match="needs 2-D data"):
        decision_boundary(r.net, r.dataset)
