"""Model-level schemes (gpt2, fixup, t_fixup, deepnorm, mup) live in the one registry: listed
only when asked for, refused with a field-carrying error by every per-tensor surface
(RunConfig, the web page, init_network, the CLI), and shown by ``initlab schemes`` with the
structure each needs."""

import json
import math

import pytest

from initlab import schemes as S
from initlab._checks import ParameterError
from initlab.cli import main
from initlab.schemes import registry

MODEL_LEVEL = ["gpt2", "fixup", "t_fixup", "deepnorm", "mup"]


def test_listed_only_when_asked_for():
    assert not set(MODEL_LEVEL) & set(S.available())
    assert S.available("model") == MODEL_LEVEL
    everything = S.available(model_level=True)
    assert everything[: len(S.available())] == S.available()
    assert everything[len(S.available()) :] == MODEL_LEVEL
    assert "model" in S.CATEGORIES and "model" not in S.TENSOR_CATEGORIES


@pytest.mark.parametrize("name", MODEL_LEVEL)
def test_each_is_registered_with_formula_paper_and_structure(name):
    i = S.info(name)
    assert i.model_level and i.category == "model"
    assert i.formula and i.summary and i.paper and i.needs
    assert i.entry in ("initlab.torch.initialize", "initlab.torch.mup")
    assert not i.recommended_for and not i.gain_from_activation


def test_ordinary_tensors_law_and_parameters():
    gpt2 = S.info("gpt2")
    assert gpt2.defaults == {"std": 0.02}
    assert str(gpt2.base()) == "random_normal:std=0.02"
    assert gpt2.law_at((64, 64)).std == 0.02  # GPT-2's N(0, 0.02^2) for ordinary tensors
    assert gpt2.law_at((64, 64), std=0.1).std == 0.1
    # fixup's ordinary tensors are He normal: std sqrt(2 / fan_in)
    assert S.info("fixup").law_at((50, 10)).std == pytest.approx(math.sqrt(2 / 50))
    assert S.parse_scheme("gpt2:std=0.01", model_level=True).params == {"std": 0.01}
    with pytest.raises(ValueError, match="std must be > 0.0, got -1"):
        S.parse_scheme("gpt2:std=-1", model_level=True)
    with pytest.raises(ValueError, match="scheme 'fixup' has no parameter 'depth'"):
        S.get("fixup", model_level=True, depth=3)
    with pytest.raises(ValueError, match="unknown initialization scheme 'he_norml'"):
        S.info("mup").base(scheme="he_norml")


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.parse_scheme("gpt2"),
        lambda: S.parse_scheme("gpt2:std=0.01"),
        lambda: S.get("deepnorm"),
        lambda: S.get(S.get("fixup", model_level=True)),
        lambda: S.gpt2((4, 4), rng=0),  # the array function refuses too
        lambda: S.SchemeSpec("t_fixup")((4, 4), rng=0),
        lambda: S.distribution("gpt2", 4, 4),
    ],
)
def test_per_tensor_lookups_refuse_them(call):
    with pytest.raises(ParameterError, match="is a model-level scheme.*initlab.torch") as e:
        call()
    assert e.value.field == "scheme" and "a per-tensor scheme" in e.value.allowed


@pytest.mark.parametrize(("field", "value"), [("init", "gpt2"), ("bias_init", "fixup:")])
def test_run_config_refuses_them_naming_the_field(field, value):
    from initlab.config import RunConfig

    with pytest.raises(ParameterError) as e:
        RunConfig(**{field: value})
    err = e.value
    assert err.field == field and err.value == value
    name = value.rstrip(":")
    assert str(err).startswith(f"{field}={value!r} is a model-level scheme")
    assert f"initlab.torch.initialize(model, {name!r}" in str(err)
    assert "he_normal" in str(err)  # what the field does take


def test_run_config_points_mup_to_its_own_function():
    from initlab.config import RunConfig

    with pytest.raises(ParameterError, match=r"initlab.torch.mup\(model, 'mup'") as e:
        RunConfig(init="mup")
    assert e.value.field == "init"


def test_init_network_refuses_them():
    from initlab.network import init_network

    with pytest.raises(ParameterError, match="model-level scheme.*initlab.torch.initialize"):
        init_network([2, 4, 1], weight_init="gpt2", seed=0)


def test_web_page_neither_offers_nor_accepts_them():
    from initlab.web.protocol import WebError, validate_request
    from initlab.web.server import options

    o = options()
    assert not {s["name"] for s in o["schemes"]} & set(MODEL_LEVEL)
    assert o["categories"] == list(S.TENSOR_CATEGORIES)
    with pytest.raises(WebError) as e:
        validate_request({"init": "gpt2"})
    assert e.value.field == "init" and "model-level" in e.value.message
    with pytest.raises(WebError) as e:
        validate_request({}, compare=["he_normal", "deepnorm"])
    assert e.value.field == "compare" and "model-level" in e.value.message


def test_cli_train_refuses_them_naming_the_flag(capsys):
    assert main(["train", "--steps", "2", "--init", "gpt2"]) == 2
    err = capsys.readouterr().err
    assert "--init" in err and "model-level scheme" in err and "Traceback" not in err


def test_cli_schemes_shows_them_with_their_structure(capsys):
    assert main(["schemes"]) == 0
    out = capsys.readouterr().out
    head, _, tail = out.partition("Model-level schemes")
    assert tail, out
    for name in MODEL_LEVEL:
        assert f"\n  {name}: " in tail and f"\n  {name}: " not in head
    assert "needs:     residual branches" in tail and "initlab.torch.mup" in tail
    assert "ordinary tensors: random_normal:std=0.02 (std 0.02)" in tail
    assert main(["schemes", "--category", "model"]) == 0
    only = capsys.readouterr().out
    assert only.startswith("Model-level schemes") and "he_normal " not in only.split("\n")[0]
    assert main(["schemes", "--category", "model", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(records) == MODEL_LEVEL
    assert records["gpt2"]["std"] == 0.02 and records["gpt2"]["defaults"] == {"std": 0.02}
    assert records["deepnorm"]["needs"].startswith("nn.TransformerEncoderLayer")
    assert records["mup"]["use"] == "initlab.torch.mup"
    assert main(["schemes", "--category", "plain", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain and all(r["needs"] is None and r["use"] is None for r in plain)


def test_registration_checks_the_model_fields(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def thing() -> str:
        """A test scheme.

        Formula: W ~ N(0, 1)
        """
        return "random_normal"

    with pytest.raises(TypeError, match="needs= and entry= are given exactly for category"):
        S.scheme("model")(thing)
    with pytest.raises(TypeError, match="needs= and entry= are given exactly for category"):
        S.scheme("plain", needs="residual branches", entry="x")(thing)
    with pytest.raises(TypeError, match="a model-level scheme takes no recommended"):
        S.scheme("model", needs="x", entry="y", recommended=("relu",))(thing)
    S.scheme("model", needs="a graph", entry="somewhere.apply", paper="P")(thing)
    assert S.available("model")[-1] == "thing" and "thing" not in S.available()
    with pytest.raises(ParameterError, match="needs a graph.*somewhere.apply"):
        S.parse_scheme("thing")
