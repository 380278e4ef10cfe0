"""The compiled core (setup.py, pipeline/_build.py): a stale `.so` must never run silently."""

from __future__ import annotations

import ast
import hashlib
import json
import pickle
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from aiops.cli import main
from aiops.wiring import build_pipeline
from connectors.files import DeadLetter, load_topology, merge_streams, read_alerts, read_changes
from pipeline import _build
from pipeline._build import StaleBuildError, check
from pipeline.config import load_config


def _tree(tmp_path: Path, source: str = "X = 1\n") -> tuple[Path, Path, Path]:
    """A package with one listed module compiled (a stand-in `.so`) and its build record."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(source)
    (pkg / f"mod{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    listing = tmp_path / "compiled_modules.json"
    listing.write_text(json.dumps({"modules": ["pkg/mod.py", "pkg/other.py"]}))
    manifest = tmp_path / "_compiled.json"
    digest = hashlib.sha256(source.encode()).hexdigest()
    manifest.write_text(json.dumps({"sources": {"pkg/mod.py": digest}}))
    return pkg, listing, manifest


def test_a_compiled_module_matching_its_source_passes(tmp_path: Path) -> None:
    _, listing, manifest = _tree(tmp_path)
    assert check(tmp_path, listing, manifest) is True


def test_an_edited_source_beside_its_compiled_module_fails_naming_the_rebuild(
    tmp_path: Path,
) -> None:
    pkg, listing, manifest = _tree(tmp_path)
    (pkg / "mod.py").write_text("X = 2\n")
    with pytest.raises(StaleBuildError) as err:
        check(tmp_path, listing, manifest)
    message = str(err.value)
    assert "pkg/mod.py changed since it was compiled" in message
    assert "pip install -e '.[dev]'" in message and "\n" not in message


def test_a_compiled_module_without_a_build_record_fails(tmp_path: Path) -> None:
    _, listing, manifest = _tree(tmp_path)
    manifest.unlink()
    with pytest.raises(StaleBuildError, match=r"pkg/mod\.py has no build record"):
        check(tmp_path, listing, manifest)


def test_without_compiled_modules_nothing_is_checked(tmp_path: Path) -> None:
    pkg, listing, manifest = _tree(tmp_path)
    (pkg / f"mod{EXTENSION_SUFFIXES[0]}").unlink()
    (pkg / "mod.py").write_text("X = 3\n")  # edited, but nothing compiled shadows it
    assert check(tmp_path, listing, manifest) is False


def test_a_compiled_module_installed_without_its_source_shadows_nothing(tmp_path: Path) -> None:
    pkg, listing, manifest = _tree(tmp_path)
    (pkg / "mod.py").unlink()
    assert check(tmp_path, listing, manifest) is False


def test_the_command_prints_the_reason_as_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def stale() -> None:
        raise StaleBuildError("pipeline/dedup.py changed since it was compiled: rebuild")

    monkeypatch.setattr("aiops.cli.build_parser", stale)
    assert main(["replay"]) == 2
    assert capsys.readouterr().err == (
        "error: pipeline/dedup.py changed since it was compiled: rebuild\n"
    )


def test_this_install_is_what_it_says_it_is() -> None:
    """COMPILED matches the modules actually loaded (a `.so` imported for each listed one)."""
    import pipeline.dedup
    import pipeline.engine

    listed = json.loads(_build.LIST.read_text())["modules"]
    assert "pipeline/engine.py" in listed and "pipeline/dedup.py" in listed
    for module in (pipeline.engine, pipeline.dedup):
        assert str(module.__file__).endswith(".py") is not pipeline.COMPILED


def test_the_pipeline_pickles_mid_stream_and_continues_the_same() -> None:
    """The Kafka checkpoint pickles the whole Pipeline: every class in it (compiled or not)
    must round-trip. Half the bundled sample, a pickle, then the rest in both copies."""
    sample = Path(__file__).resolve().parent.parent / "aiops" / "sample"
    records = [
        r
        for r in merge_streams(
            read_alerts(sample / "alerts.jsonl"), read_changes(sample / "changes.jsonl")
        )
        if not isinstance(r, DeadLetter)
    ]
    first = build_pipeline(load_config(), load_topology(sample / "topology.yaml"))
    half = len(records) // 2
    for r in records[:half]:
        first.process(r)
    first.drain()
    second = pickle.loads(pickle.dumps(first, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(second.dedup) is type(first.dedup)
    outs = []
    for p in (first, second):
        for r in records[half:]:
            p.process(r)
        drained = p.finish()
        outs.append(
            (
                [i.to_dict() for i in drained.incidents],
                [(s.alert_id, s.reason, s.time) for s in drained.suppressed],
                drained.predictions,
            )
        )
    assert outs[0] == outs[1]
    assert len(outs[0][0]) > 5 and outs[0][2]


def test_every_class_of_a_compiled_module_stays_picklable_and_constructible() -> None:
    """A compiled class without `mypyc_attr(serializable=True)` cannot be unpickled (its
    `__new__` calls `__init__` without arguments), and with `serializable` alone an
    interpreted caller's `Cls(...)` leaves `__init__` uncalled (mypy 2.4.1): both are needed.
    Protocols, NamedTuples, exceptions and constant holders without instances are exempt."""
    root = _build.ROOT
    missing = []
    for rel in json.loads(_build.LIST.read_text())["modules"]:
        tree = ast.parse((root / rel).read_text())
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(b) for b in node.bases}
            if bases & {"Protocol", "NamedTuple"} or any(b.endswith("Error") for b in bases):
                continue
            if all(isinstance(s, ast.Expr | ast.AnnAssign) for s in node.body):
                continue  # constants only (dedup.Outcome): never instantiated
            decorators = {ast.unparse(d) for d in node.decorator_list}
            if "mypyc_attr(serializable=True, allow_interpreted_subclasses=True)" not in decorators:
                missing.append(f"{rel}:{node.name}")
    assert missing == []


def test_frozen_classes_of_compiled_modules_round_trip_through_pickle() -> None:
    """Compiled, pickle restores a native object by setting its attributes one by one, which
    a frozen dataclass refuses (the Kafka checkpoint holds past cases): they reduce to their
    constructor instead."""
    from models.rca_history import PastCase
    from pipeline.silences import Silence

    case = PastCase("inc-1", frozenset({"svc:db"}), "db", "service", "DB down", "restart")
    silence = Silence([], 10.0, None, "maintenance")
    for obj in (case, silence):
        assert pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)) == obj
