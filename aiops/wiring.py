"""Assemble the pipeline the same way for every command, so `aiops replay` and `aiops run`
run identical stages with identical settings."""

from __future__ import annotations

from pathlib import Path

from aiops.anomaly_watch import MetricWatch
from config import CONFIG_DIR
from connectors.files import load_topology
from models.linkmodel import AnyLinkModel, load_link_model
from models.outage import OutageModel
from models.rootcause import RootCauseRanker
from models.symptoms import SymptomModel
from pipeline.changes import ChangeIndex
from pipeline.config import Config, ConfigError, load_config
from pipeline.engine import Pipeline
from pipeline.forewarn import OutagePredictor
from pipeline.topology import Topology

# Metrics with a known ceiling get a time-to-limit forecast ("disk full in about 2 h").
METRIC_LIMITS = {
    "disk_used_percent": 100.0,
    "memory_used_percent": 100.0,
    "filesystem_used_percent": 100.0,
    "connections_used_percent": 100.0,
}


class ConfiguredModel:
    """Marker: use the link model the configuration names."""


CONFIGURED = ConfiguredModel()


def _model_path(name: str) -> Path:
    """A model file named in the configuration: absolute, or relative to config/."""
    return Path(name) if Path(name).is_absolute() else CONFIG_DIR / name


def configured_link_model(config: Config) -> AnyLinkModel | None:
    """The link model named by `correlation.link_model`, or None."""
    name = config.correlation.link_model
    if not name:
        return None
    try:
        return load_link_model(_model_path(name))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def configured_outage_model(config: Config) -> OutageModel | None:
    """The outage model named by `prediction.model`, or None when prediction is off."""
    name = config.prediction.model
    if not config.prediction.enabled or not name:
        return None
    try:
        return OutageModel.load(_model_path(name))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def build_pipeline(
    config: Config,
    topology: Topology,
    link_model: AnyLinkModel | ConfiguredModel | None = CONFIGURED,
) -> Pipeline:
    """The full pipeline. `link_model` None means the hand-weighted link score."""
    if isinstance(link_model, ConfiguredModel):
        link_model = configured_link_model(config)
    changes = ChangeIndex(topology, config.root_cause.change_retention_s)
    symptoms = SymptomModel()
    ranker = RootCauseRanker(config.root_cause, topology, changes, symptoms=symptoms)
    observers = []
    outage_model = configured_outage_model(config)
    if outage_model is not None:
        observers.append(
            OutagePredictor(config.prediction, outage_model, topology, changes, symptoms)
        )
    pipeline = Pipeline(
        config,
        topology,
        changes=changes,
        enrichers=[ranker],
        observers=observers,
        symptoms=symptoms,
        link_model=link_model,
        metrics=MetricWatch(limits=METRIC_LIMITS),
    )
    ranker.attach_alert_states(pipeline.dedup.states)
    return pipeline


def load_inputs(config_path: Path | None, topology_path: Path | None) -> tuple[Config, Topology]:
    return load_config(config_path), load_topology(topology_path)
