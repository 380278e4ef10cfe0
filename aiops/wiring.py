"""Assemble the pipeline the same way for every command, so `aiops replay` and `aiops run`
run identical stages with identical settings."""

from __future__ import annotations

from pathlib import Path

from connectors.files import load_topology
from models.rootcause import RootCauseRanker
from models.symptoms import SymptomModel
from pipeline.changes import ChangeIndex
from pipeline.config import Config, load_config
from pipeline.engine import Pipeline
from pipeline.topology import Topology


def build_pipeline(config: Config, topology: Topology) -> Pipeline:
    changes = ChangeIndex(topology, config.root_cause.change_retention_s)
    ranker = RootCauseRanker(config.root_cause, topology, changes)
    return Pipeline(config, topology, changes=changes, enrichers=[ranker], symptoms=SymptomModel())


def load_inputs(config_path: Path | None, topology_path: Path | None) -> tuple[Config, Topology]:
    return load_config(config_path), load_topology(topology_path)
