"""Assemble the pipeline the same way for every command, so `aiops replay` and `aiops run`
run identical stages with identical settings."""

from __future__ import annotations

from pathlib import Path

from config import CONFIG_DIR
from connectors.files import load_topology
from models.linkmodel import LinkModel
from models.rootcause import RootCauseRanker
from models.symptoms import SymptomModel
from pipeline.changes import ChangeIndex
from pipeline.config import Config, ConfigError, load_config
from pipeline.engine import Pipeline
from pipeline.topology import Topology


class ConfiguredModel:
    """Marker: use the link model the configuration names."""


CONFIGURED = ConfiguredModel()


def configured_link_model(config: Config) -> LinkModel | None:
    """The link model named by `correlation.link_model` (relative to config/), or None."""
    name = config.correlation.link_model
    if not name:
        return None
    path = Path(name) if Path(name).is_absolute() else CONFIG_DIR / name
    try:
        return LinkModel.load(path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def build_pipeline(
    config: Config,
    topology: Topology,
    link_model: LinkModel | ConfiguredModel | None = CONFIGURED,
) -> Pipeline:
    """The full pipeline. `link_model` None means the hand-weighted link score."""
    if isinstance(link_model, ConfiguredModel):
        link_model = configured_link_model(config)
    changes = ChangeIndex(topology, config.root_cause.change_retention_s)
    symptoms = SymptomModel()
    ranker = RootCauseRanker(config.root_cause, topology, changes, symptoms=symptoms)
    pipeline = Pipeline(
        config,
        topology,
        changes=changes,
        enrichers=[ranker],
        symptoms=symptoms,
        link_model=link_model,
    )
    ranker.attach_alert_states(pipeline.dedup.states)
    return pipeline


def load_inputs(config_path: Path | None, topology_path: Path | None) -> tuple[Config, Topology]:
    return load_config(config_path), load_topology(topology_path)
