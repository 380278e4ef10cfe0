"""Silences (maintenance windows) and inhibition rules, with Alertmanager's semantics.

Matchers use Alertmanager's syntax: `name="value"`, `name!="value"`, `name=~"regex"`,
`name!~"regex"` (regexes are anchored). They see an alert's labels plus its canonical fields
(`alertname`, `service`, `resource`, `severity`, `source`) where the labels lack them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mypy_extensions import mypyc_attr

from pipeline.config import InhibitRuleConfig, SilenceConfig
from pipeline.records import Alert

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class MatcherError(ValueError):
    """A matcher that cannot be read."""


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str
    value: str
    test: Callable[[str], bool]

    def __reduce__(self) -> tuple[type[Matcher], tuple[object, ...]]:
        # Compiled (mypyc), pickle would set the fields one by one, which frozen refuses.
        return (Matcher, (self.name, self.op, self.value, self.test))

    def matches(self, labels: dict[str, str]) -> bool:
        # Alertmanager: a missing label matches like the empty string.
        return self.test(labels.get(self.name, ""))


def parse_matcher(text: str) -> Matcher:
    m = _MATCHER.match(text)
    if not m:
        raise MatcherError(f'matcher {text!r} is not name="value", !=, =~ or !~')
    name, op, raw = m.groups()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].replace('\\"', '"')
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(f"^(?:{raw})$")
        except re.error as exc:
            raise MatcherError(f"matcher {text!r}: bad regex: {exc}") from None
        if op == "=~":
            return Matcher(name, op, raw, lambda v: pattern.match(v) is not None)
        return Matcher(name, op, raw, lambda v: pattern.match(v) is None)
    if op == "=":
        return Matcher(name, op, raw, lambda v: v == raw)
    return Matcher(name, op, raw, lambda v: v != raw)


def match_labels(alert: Alert) -> dict[str, str]:
    """The label view matchers see."""
    labels = dict(alert.labels)
    labels.setdefault("alertname", alert.name)
    labels.setdefault("severity", alert.severity)
    if alert.service:
        labels.setdefault("service", alert.service)
    if alert.resource:
        labels.setdefault("resource", alert.resource)
    if alert.source:
        labels.setdefault("source", alert.source)
    return labels


def _all(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class Silence:
    matchers: list[Matcher]
    starts_at: float | None
    ends_at: float | None
    comment: str

    def __reduce__(self) -> tuple[type[Silence], tuple[object, ...]]:
        return (Silence, (self.matchers, self.starts_at, self.ends_at, self.comment))

    def active(self, t: float) -> bool:
        return (self.starts_at is None or t >= self.starts_at) and (
            self.ends_at is None or t < self.ends_at
        )


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Silencer:
    """Mutes alerts that match an active silence at their event time."""

    def __init__(self, silences: list[SilenceConfig]) -> None:
        self.silences = [
            Silence([parse_matcher(m) for m in s.matchers], s.starts_at, s.ends_at, s.comment)
            for s in silences
        ]

    def check(self, alert: Alert, labels: dict[str, str]) -> str | None:
        """The reason the alert is silenced, or None."""
        assert alert.time is not None
        for silence in self.silences:
            if silence.active(alert.time) and _all(silence.matchers, labels):
                return f"silenced ({silence.comment or 'matching silence'})"
        return None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class _Rule:
    source: list[Matcher]
    target: list[Matcher]
    equal: list[str]
    source_key: dict[str, tuple[str, ...]]  # firing source fingerprint -> its `equal` values
    by_key: dict[tuple[str, ...], set[str]]  # `equal` values -> firing source fingerprints


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Inhibitor:
    """Mutes target alerts while a matching source alert fires with equal `equal` labels."""

    def __init__(self, rules: list[InhibitRuleConfig]) -> None:
        self.rules = [
            _Rule(
                [parse_matcher(m) for m in r.source_matchers],
                [parse_matcher(m) for m in r.target_matchers],
                list(r.equal),
                {},
                {},
            )
            for r in rules
        ]

    def observe(self, fp: str, firing: bool, labels: dict[str, str]) -> None:
        """Track which source alerts fire (call for every event, muted or not)."""
        for rule in self.rules:
            old = rule.source_key.pop(fp, None)
            if old is not None:
                rule.by_key[old].discard(fp)
                if not rule.by_key[old]:
                    del rule.by_key[old]
            if firing and _all(rule.source, labels):
                key = tuple(labels.get(k, "") for k in rule.equal)
                rule.source_key[fp] = key
                rule.by_key.setdefault(key, set()).add(fp)

    def check(self, fp: str, labels: dict[str, str]) -> str | None:
        """The reason the alert is inhibited, or None. An alert never inhibits itself."""
        for rule in self.rules:
            if not rule.by_key or not _all(rule.target, labels):
                continue
            key = tuple(labels.get(k, "") for k in rule.equal)
            sources = rule.by_key.get(key, ())
            for source_fp in sorted(sources):
                if source_fp != fp:
                    equal = ", ".join(f"{k}={v!r}" for k, v in zip(rule.equal, key, strict=True))
                    return f"inhibited by firing alert {source_fp} ({equal or 'any'})"
        return None
