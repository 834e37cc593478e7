"""The written-down schema of every JSON document initlab emits, and a validator for it.

The schema is ``initlab/schema/initlab.schema.json`` (JSON Schema 2020-12, shipped with the
package): one ``$defs`` entry per kind of document (``train_output``, ``web_frame``,
``api_config``, ``store_run``, ``study_results``, ...), all built on its ``number`` type, the one
JSON convention of :mod:`initlab._json` (a JSON number, or ``"nan"``, ``"inf"``, ``"-inf"``).
Validation needs the ``jsonschema`` package (in the ``test`` extra); reading the schema does
not.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "SCHEMA_PATH", "load_schema", "validate"]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "initlab.schema.json"


@functools.cache
def load_schema() -> dict[str, Any]:
    """The schema as a dict (read once)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _kinds() -> tuple[str, ...]:
    return tuple(load_schema()["$defs"])


KINDS: tuple[str, ...] = _kinds()


def validate(document: Any, kind: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` (decoded JSON) is a valid
    ``kind``; a ValueError for an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a document kind; choose one of: {', '.join(KINDS)}")
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - the test extra has it
        raise ImportError("validating needs jsonschema: pip install jsonschema") from exc
    schema = load_schema()
    root = {"$schema": schema["$schema"], "$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}
    jsonschema.validate(document, root)
