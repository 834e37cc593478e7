"""The README's ```python blocks run as pasted: each in a fresh namespace, in its own working
directory; blocks that import torch are skipped when torch is absent."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced ```python block."""
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5
    # the extractor sees a block's whole body and nothing outside it
    sample = "text\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = 2\n```\n"
    assert python_blocks(sample) == [(2, "a = 1\n"), (8, "b = 2\n")]


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line{n}" for n, _ in BLOCKS])
def test_readme_block_runs(line, code, tmp_path, monkeypatch):
    needs = {m for m in ("torch", "matplotlib", "sklearn") if re.search(rf"\b{m}\b", code)}
    for module in sorted(needs):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"README block at line {line} needs {module}")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})  # noqa: S102
