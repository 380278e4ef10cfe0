"""The root-cause ranker's starting model (models/rootcause.py): the hand weights of the first
ranking when `root_cause.model` is null, else the trained file it names (`aiops train-rca`
makes it; `aiops.rca.training` also starts from the hand weights)."""

from __future__ import annotations

from pathlib import Path

from config import CONFIG_DIR
from models.rca_model import LogisticScorer, RootCauseModel
from pipeline.config import ConfigError, RootCauseConfig

# The untrained starting point (`root_cause.model: null`): the first ranking's hand weights.
_HAND_ENTITY = {
    "explains": 2.5,
    "no_alerting_deps": 1.5,
    "onset": 1.5,
    "severity": 0.8,
    "cause_like": 0.8,
    "change": 1.0,
    "symptom_share": -1.0,
    "chronic_share": -1.0,
    "silent": -1.5,
    "history": 2.0,
}
_HAND_CHANGE = {"entity_score": 3.0, "closeness": 2.0, "latest": 0.5, "after_onset": -1.0}


def hand_model() -> RootCauseModel:
    return RootCauseModel(
        entity=LogisticScorer(dict(_HAND_ENTITY), bias=-4.0),
        change=LogisticScorer(dict(_HAND_CHANGE), bias=-3.0),
        meta={"trained": False},
    )


def configured_model(cfg: RootCauseConfig) -> RootCauseModel:
    """The model `root_cause.model` names (relative to config/), or the hand weights."""
    if not cfg.model:
        return hand_model()
    path = Path(cfg.model) if Path(cfg.model).is_absolute() else CONFIG_DIR / cfg.model
    try:
        return RootCauseModel.load(path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
