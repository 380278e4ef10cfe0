"""Is the core compiled, and does every compiled module still match its source?

`pip install -e .` compiles the modules listed in `compiled_modules.json` with mypyc (see
setup.py) and leaves each `.so` next to its `.py`. Python imports the `.so` first, so an
edited `.py` would silently not run. The build records the SHA-256 of every source it
compiled in `_compiled.json`; `check()` runs when `pipeline` or `models` is imported and
refuses a compiled module whose source no longer matches (or that has no record at all),
naming the command that fixes it. Hashing the sources takes about a millisecond.

This module must stay pure Python and import nothing of the project: it runs before any
compiled module is loaded.
"""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = Path(__file__).with_name("compiled_modules.json")
MANIFEST = Path(__file__).with_name("_compiled.json")
REBUILD = "pip install -e '.[dev]'"


class StaleBuildError(ImportError):
    """A compiled module that does not match its source: its message is one line."""

    stale_build = True  # what `aiops` looks for to print the line without a traceback


def compiled_paths(root: Path = ROOT, listing: Path = LIST) -> list[str]:
    """The listed modules (relative paths) with a compiled `.so` beside their source (an
    install without the sources has nothing the `.so` could shadow)."""
    found = []
    for rel in json.loads(listing.read_text())["modules"]:
        src = root / rel
        stem = src.name[: -len(".py")]
        built = (src.parent / f"{stem}{suffix}" for suffix in EXTENSION_SUFFIXES)
        if src.exists() and any(path.exists() for path in built):
            found.append(rel)
    return found


def check(root: Path = ROOT, listing: Path = LIST, manifest: Path = MANIFEST) -> bool:
    """Raise StaleBuildError if a compiled module is out of date; return whether any is compiled."""
    compiled = compiled_paths(root, listing)
    if not compiled:
        return False
    try:
        recorded: dict[str, str] = json.loads(manifest.read_text())["sources"]
    except (OSError, ValueError, KeyError):
        recorded = {}
    for rel in compiled:
        digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        if recorded.get(rel) != digest:
            why = "changed since it was compiled" if rel in recorded else "has no build record"
            raise StaleBuildError(
                f"{rel} {why}: its compiled .so would run old code; rebuild with `{REBUILD}` "
                f"(`AIOPS_PURE_PYTHON=1 {REBUILD}` for pure Python)"
            )
    return True
