"""Reading and writing the models shipped as JSON (small, readable, diffable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_model(path: Path, kind: str | tuple[str, ...]) -> dict[str, Any]:
    """The JSON document of a model file, checked to be of `kind` (or one of several);
    ValueError otherwise."""
    kinds = (kind,) if isinstance(kind, str) else kind
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read model {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("kind") not in kinds:
        raise ValueError(f"model {path}: kind must be {' or '.join(kinds)}")
    weights = doc.get("weights", {})
    if not isinstance(weights, dict) or not all(
        isinstance(v, int | float) for v in weights.values()
    ):
        raise ValueError(f"model {path}: weights must map feature names to numbers")
    return doc


def write_model(path: Path, doc: dict[str, Any], indent: int | None = 2) -> None:
    """Write via a temporary file, so a model file is never half written."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=indent) + "\n", encoding="utf-8")
    tmp.replace(path)
