"""Typed configuration. `config/default.yaml` holds every default; a user file overrides any
subset of it. Each stage is handed only its own section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config import default_path
from pipeline.records import SEVERITY_RANK
from pipeline.times import TimeError, parse_time


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _severity(value: str) -> str:
    if value not in SEVERITY_RANK:
        raise ValueError(f"{value!r} is not one of {', '.join(SEVERITY_RANK)}")
    return value


class DedupConfig(_Section):
    ignore_labels: list[str]
    redelivery_window_s: float = Field(ge=0)
    flap_window_s: float = Field(gt=0)
    flap_threshold: int = Field(ge=2)
    alert_timeout_s: float = Field(gt=0)
    resolved_ttl_s: float = Field(ge=0)
    chronic_window_s: float = Field(gt=0)
    chronic_episodes: int = Field(ge=2)


class CorrelationConfig(_Section):
    link_model: str | None
    window_s: float = Field(gt=0)
    refire_gap_s: float = Field(ge=0)
    refire_recovered_gap_s: float = Field(default=0, ge=0)
    refire_recovered_share: float = Field(default=0.1, ge=0, le=1)
    refire_apart_s: float | None = Field(default=None, ge=0)
    link_slack_s: float = Field(ge=0)
    precursor_window_s: float = Field(ge=0)
    node_window_s: float = Field(ge=0)
    service_gap_s: float = Field(ge=0)
    max_age_s: float = Field(gt=0)
    max_hops: int = Field(ge=0, le=6)
    same_resource: float = Field(ge=0, le=1)
    same_service: float = Field(ge=0, le=1)
    shared_node: float = Field(ge=0, le=1)
    node_alert: float = Field(ge=0, le=1)
    hop_weights: list[float]
    symptom_floor: float = Field(ge=0, le=1)
    weak_cause_factor: float = Field(ge=0, le=1)
    chronic_factor: float = Field(ge=0, le=1)
    new_root_factor: float = Field(ge=0, le=1)
    same_name: float = Field(ge=0, le=1)
    content_min_services: int = Field(ge=1)
    content_window_s: float = Field(ge=0)
    content_baseline_s: float = Field(ge=0)
    min_relation: float = Field(gt=0, le=1)
    origin_hops: int = Field(ge=0, le=10)
    origin_hop_penalty: float = Field(ge=0, le=1)
    unexplained_factor: float = Field(ge=0, le=1)
    root_slack_s: float = Field(ge=0)
    merge: bool
    merge_min_severity: str
    rehome: bool
    rehome_ambiguity: float = Field(ge=0)
    rehome_delay_s: float = Field(ge=0)
    rehome_track_s: float = Field(gt=0)
    rehome_gap_s: float = Field(ge=0)
    rehome_ratio: float = Field(ge=1)
    rehome_split_gap_s: float = Field(ge=0)
    rehome_split_min: int = Field(ge=2)
    recovery_split_gap_s: float = Field(ge=0)
    recovery_split_min: int = Field(default=3, ge=1)
    split_lag_factor: float = Field(default=0, ge=0)
    recovery_split_early: bool = False
    recovery_merge_gap_s: float = Field(ge=0)
    recovery_explain_gap_s: float = Field(default=0, ge=0)
    announce_gap_s: float = Field(default=0, ge=0)

    _sev = field_validator("merge_min_severity")(_severity)

    def hop_weight(self, hops: int) -> float:
        if hops < 1 or hops > len(self.hop_weights):
            return 0.0
        return self.hop_weights[hops - 1]


class IncidentConfig(_Section):
    open_min_severity: str
    open_min_alerts: int = Field(ge=1)
    resolve_quiet_s: float = Field(ge=0)
    reopen_window_s: float = Field(ge=0)
    pending_ttl_s: float = Field(gt=0)
    critical_services: list[str]
    impact_high_services: int = Field(ge=1)
    impact_medium_services: int = Field(ge=1)

    _sev = field_validator("open_min_severity")(_severity)


class RootCauseConfig(_Section):
    model: str | None
    change_lookback_s: float = Field(ge=0)
    change_after_s: float = Field(ge=0)
    change_retention_s: float = Field(gt=0)
    max_candidates: int = Field(ge=1)
    max_changes: int = Field(ge=0)
    suspect_min_score: float = Field(ge=0, le=1)
    explain_hops: int = Field(ge=1)
    feedback_learning_rate: float = Field(ge=0, le=1)
    feedback_prior_strength: float = Field(ge=0, le=1)
    feedback_memory: int = Field(ge=1)
    history_capacity: int = Field(ge=1)
    history_min_similarity: float = Field(ge=0, le=1)
    eager_rankings: int = Field(ge=1)
    rerank_holdoff_s: float = Field(ge=0)


class SilenceConfig(_Section):
    matchers: list[str] = Field(min_length=1)
    starts_at: float | None = None
    ends_at: float | None = None
    comment: str = ""

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float | None:
        if value is None:
            return None
        try:
            return parse_time(value)
        except TimeError as exc:
            raise ValueError(str(exc)) from None


class InhibitRuleConfig(_Section):
    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = []


class PredictionConfig(_Section):
    enabled: bool
    model: str | None
    horizon_s: float = Field(gt=0)
    window_s: float = Field(gt=0)
    rearm_s: float = Field(ge=0)
    persist_s: float = Field(ge=0)
    change_lookback_s: float = Field(gt=0)
    history_s: float = Field(gt=0)
    learn_online: bool


class EngineConfig(_Section):
    sweep_interval_s: float = Field(gt=0)
    housekeeping_interval_s: float = Field(gt=0)


class Config(_Section):
    dedup: DedupConfig
    correlation: CorrelationConfig
    incidents: IncidentConfig
    root_cause: RootCauseConfig
    silences: list[SilenceConfig]
    inhibit_rules: list[InhibitRuleConfig]
    prediction: PredictionConfig
    engine: EngineConfig


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config {path} must be a mapping of sections")
    return doc


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults from config/default.yaml, then the file at `path`, then `overrides`."""
    doc = _read_yaml(default_path())
    if path is not None:
        doc = _merge(doc, _read_yaml(Path(path)))
    if overrides:
        doc = _merge(doc, overrides)
    try:
        return Config.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config {where}: {first['msg']}") from None
