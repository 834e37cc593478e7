"""The examples in the schemes' docstrings run, and every scheme has a formula and an example.

Doctests run here, for the schemes package only, instead of through pytest's
``--doctest-modules`` (which would collect every package's docstrings)."""

import doctest
import importlib

import numpy as np
import pytest

from initlab import schemes as S

MODULES = [
    "initlab.schemes.fans",
    "initlab.schemes.library",
    "initlab.schemes.structured",
    "initlab.schemes.registry",
    "initlab.schemes.sampling",
    "initlab.schemes.gains",
    "initlab.schemes.model",
]


def _run(obj, name, module):
    globs = {"np": np, **vars(importlib.import_module(module))}
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(obj, name, globs=globs):
        runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", S.available(model_level=True))
def test_every_scheme_has_a_formula_and_a_running_example(name):
    i = S.info(name)
    assert i.formula and i.summary
    assert "Formula:" in i.fn.__doc__ and ">>> " in i.fn.__doc__, name
    result = _run(i.fn, name, i.fn.__module__)
    assert result.attempted >= 1 and result.failed == 0, (name, result)


@pytest.mark.parametrize("module", MODULES)
def test_module_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, (module, result)


def test_a_wrong_example_fails():
    """The runner really compares: a docstring with a wrong expected value is a failure."""

    def wrong():
        """
        >>> 1 + 1
        3
        """

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(wrong, "wrong", globs={}):
        runner.run(test, out=lambda s: None)
    assert runner.summarize(verbose=False).failed == 1
