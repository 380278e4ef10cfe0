"""YAML defaults shipped with the package (`default.yaml` documents every setting)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


def default_path(name: str = "default.yaml") -> Path:
    """Path of a bundled YAML file."""
    return CONFIG_DIR / name
