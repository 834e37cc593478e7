"""The registry: every scheme is one definition, read once; docs/schemes.md's worked example
(adding a scheme in one place) works for NumPy, torch, the theory and the parser."""

import ast
import inspect
import math
import pathlib
import re

import pytest

from initlab import schemes as S
from initlab.schemes import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry that a test may add to; restored afterwards."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))


def _docs_example() -> str:
    text = (ROOT / "docs" / "schemes.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return next(b for b in blocks if "def he_half" in b)


def test_docs_worked_example_adds_a_scheme_in_one_place(scratch_registry, capsys):
    namespace: dict = {}
    exec(compile(_docs_example(), "docs/schemes.md", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == repr(math.sqrt(2 / 1024))
    assert out[1] == "W ~ N(0, gain^2 / (2 fan_in))"
    assert out[2] == "{'gain': 1}" and out[3] == "float32"
    assert "he_half" in S.available("variance_scaling") and S.he_half is namespace["he_half"]
    assert S.info("he_half").defaults == {"gain": math.sqrt(2.0)}
    assert "he_half" in [s.name for s in S.recommend("relu")]
    w = S.get("he_half", gain=1.0)((400, 300), 1)
    assert w.std() == pytest.approx(math.sqrt(1 / 800), rel=0.02)  # 5 s.e. of a std: 0.6%
    torch = pytest.importorskip("torch")
    from initlab.torch import initialize

    layer = torch.nn.Linear(400, 300)
    rec = initialize(layer, "he_half", generator=torch.Generator().manual_seed(0))["weight"]
    assert rec.std == pytest.approx(math.sqrt(2 / 800))
    assert float(layer.weight.detach().std()) == pytest.approx(math.sqrt(2 / 800), rel=0.02)


def test_registry_does_not_import_the_definitions():
    """No import cycle: library and structured import the registry, never the reverse."""
    tree = ast.parse((ROOT / "src/initlab/schemes/registry.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not imported & {"initlab.schemes.library", "initlab.schemes.structured"}
    assert "initlab.schemes" not in imported


@pytest.mark.parametrize("name", S.available())
def test_the_array_function_is_generated_from_the_definition(name):
    i = S.info(name)
    sig = inspect.signature(i.fn)
    own = [p for p in sig.parameters if p not in ("shape", "rng", "dtype", "layout", "fans")]
    assert own == list(i.defaults)
    for p in own:
        assert sig.parameters[p].default == inspect.signature(i.definition).parameters[p].default
    assert i.fn.__doc__ == i.definition.__doc__
    assert i.formula in " ".join(i.fn.__doc__.split())
    assert not re.search(r"=\s*0?\.\d|= 10\b", i.formula), "a formula must not restate defaults"


def test_unknown_keyword_is_a_type_error_naming_the_parameters():
    with pytest.raises(TypeError, match=r"he_normal\(\) got an unexpected keyword.*'sdt'.*gain"):
        S.he_normal((3, 3), 0, sdt=1.0)


def test_decorator_refuses_bad_definitions(scratch_registry):
    with pytest.raises(TypeError, match="a law takes"):

        @S.scheme("plain")
        def two_positional(fans, other):
            """x

            Formula: W = 0
            """

    with pytest.raises(ValueError, match="needs a line starting with 'Formula:'"):

        @S.scheme("plain")
        def no_formula():
            """No formula here."""

    with pytest.raises(ValueError, match="registered twice"):

        @S.scheme("plain")
        def zeros():
            """x

            Formula: W = 0
            """

    with pytest.raises(ValueError, match="category="):
        S.scheme("nonsense")
