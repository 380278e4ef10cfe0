"""Output files that appear whole or not at all: written under temporary names beside their
targets, then renamed into place together once every one of them is complete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiops.errors import UsageError


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def check_writable(*paths: Path | None) -> None:
    """Fail before any work if an output could not be written where asked."""
    for path in paths:
        if path is None:
            continue
        if not path.parent.is_dir():
            raise UsageError(f"cannot write {path}: no directory {path.parent}")
        if path.is_dir():
            raise UsageError(f"cannot write {path}: it is a directory")


@contextmanager
def atomic_paths(*paths: Path) -> Iterator[list[Path]]:
    """Yield temporary paths to write; on success rename them onto `paths`, else remove them."""
    check_writable(*paths)
    temps = [_temp(p) for p in paths]
    try:
        yield temps
        for temp, path in zip(temps, paths, strict=True):
            os.replace(temp, path)
    except OSError as exc:
        raise UsageError(f"cannot write output: {exc.strerror or exc}") from None
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)


def plot_path(csv_path: Path) -> Path:
    """FORECAST.csv -> FORECAST.png beside it."""
    return csv_path.with_suffix(".png")
