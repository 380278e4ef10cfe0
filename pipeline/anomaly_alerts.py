"""Anomalies and saturation forecasts of metric series as canonical alerts (source
`aiops-anomaly`), so they enter the pipeline like any monitoring alert.

One `AnomalyAlerter` follows many series. Per series it keeps an episode state with
hysteresis: an alert fires when the anomaly score reaches `fire_at`, fires once for the whole
episode, and resolves only after `clear_after` samples in a row that look normal again: a score
below `clear_at` and, when the detector gave its expected range at the start, a value back
inside it. A level that stays shifted therefore stays firing rather than flapping.

The default `fire_at` (0.8) is stricter than the threshold that maximises the NAB score (about
0.41, see `aiops nab`): NAB charges a false positive a tenth of a missed anomaly, and a pager
should be quieter than that.

`SaturationPredicted` works the same way on the time to the series' limit: it fires when the
limit is less than `saturation_horizon_s` away and resolves when it is no longer in sight.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pipeline.records import Alert, MetricSample
from pipeline.times import format_time

SOURCE = "aiops-anomaly"
ANOMALY = "MetricAnomaly"
SATURATION = "SaturationPredicted"


def anomaly_severity(score: float) -> str:
    """Severity of an anomaly alert from its score."""
    if score >= 0.95:
        return "major"
    if score >= 0.8:
        return "minor"
    return "warning"


def saturation_severity(seconds: float) -> str:
    """Severity of a saturation forecast from the time left."""
    if seconds <= 3600:
        return "critical"
    if seconds <= 6 * 3600:
        return "major"
    return "warning"


@dataclass(slots=True)
class _Episode:
    started: float
    calm: int = 0
    expected: tuple[float, float] | None = None


@dataclass(slots=True)
class _SeriesState:
    anomaly: _Episode | None = None
    saturation: _Episode | None = None
    fired: dict[str, str] = field(default_factory=dict)  # alert name -> id of the firing
    last_time: float | None = None  # time of the series' previous sample


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class AnomalyAlerter:
    """Turns per-sample anomaly scores (and saturation forecasts) into firing/resolved alerts."""

    def __init__(
        self,
        *,
        fire_at: float = 0.8,
        clear_at: float = 0.3,
        clear_after: int = 6,
        saturation_horizon_s: float = 6 * 3600.0,
        max_gap_s: float | None = None,
    ) -> None:
        if not 0.0 <= clear_at <= fire_at <= 1.0 or clear_after < 1:
            raise ValueError("need 0 <= clear_at <= fire_at <= 1 and clear_after >= 1")
        self.fire_at = fire_at
        self.clear_at = clear_at
        self.clear_after = clear_after
        self.saturation_horizon_s = saturation_horizon_s
        # A series silent for longer than this ends its anomaly episode (resolved at its last
        # sample): series that exist in bursts must not carry a firing alert into the next.
        self.max_gap_s = max_gap_s
        self._series: dict[tuple[str, str, str], _SeriesState] = {}

    def observe(
        self,
        sample: MetricSample,
        score: float,
        expected: tuple[float, float] | None = None,
        time_to_limit_s: float | None = None,
    ) -> list[Alert]:
        """Alerts (firing or resolved) caused by this sample; usually none.

        `expected` is the detector's normal range before this sample, `time_to_limit_s` the
        saturation forecast (None when the series has no limit or no trend towards it).
        """
        state = self._series.setdefault(sample.series_key, _SeriesState())
        out = []
        last, state.last_time = state.last_time, sample.time
        gap = self.max_gap_s
        if gap is not None and last is not None and sample.time - last > gap and state.anomaly:
            state.anomaly = None
            summary = f"{sample.metric} on {_entity(sample)} stopped reporting"
            ended = MetricSample(last, sample.metric, sample.value, sample.service, sample.resource)
            out.append(self._alert(state, ended, ANOMALY, "resolved", "warning", summary))
        alert = self._anomaly(state, sample, score, expected)
        if alert is not None:
            out.append(alert)
        alert = self._saturation(state, sample, time_to_limit_s)
        if alert is not None:
            out.append(alert)
        return out

    def _anomaly(
        self,
        state: _SeriesState,
        sample: MetricSample,
        score: float,
        expected: tuple[float, float] | None,
    ) -> Alert | None:
        episode = state.anomaly
        if episode is None:
            if score < self.fire_at:
                return None
            state.anomaly = _Episode(sample.time, expected=expected)
            where = ""
            if expected is not None:
                low, high = expected
                relation = "expected" if low <= sample.value <= high else "outside the expected"
                where = f" {relation} {_fmt(low)}..{_fmt(high)}"
            summary = (
                f"{sample.metric} = {_fmt(sample.value)} on {_entity(sample)}{where}, "
                f"anomaly score {score:.2f}"
            )
            return self._alert(state, sample, ANOMALY, "firing", anomaly_severity(score), summary)
        inside = episode.expected is None or (
            episode.expected[0] <= sample.value <= episode.expected[1]
        )
        episode.calm = episode.calm + 1 if score < self.clear_at and inside else 0
        if episode.calm < self.clear_after:
            return None
        state.anomaly = None
        summary = (
            f"{sample.metric} back to normal on {_entity(sample)} "
            f"(anomalous since {format_time(episode.started)})"
        )
        return self._alert(state, sample, ANOMALY, "resolved", "warning", summary)

    def _saturation(
        self, state: _SeriesState, sample: MetricSample, seconds: float | None
    ) -> Alert | None:
        in_sight = seconds is not None and seconds <= self.saturation_horizon_s
        if state.saturation is None:
            if not in_sight:
                return None
            assert seconds is not None
            state.saturation = _Episode(sample.time)
            summary = (
                f"{sample.metric} on {_entity(sample)} reaches its limit in "
                f"{describe_duration(seconds)} (now {_fmt(sample.value)})"
            )
            return self._alert(
                state, sample, SATURATION, "firing", saturation_severity(seconds), summary
            )
        episode = state.saturation
        episode.calm = 0 if in_sight else episode.calm + 1
        if episode.calm < self.clear_after:
            return None
        state.saturation = None
        summary = f"{sample.metric} on {_entity(sample)} no longer heading for its limit"
        return self._alert(state, sample, SATURATION, "resolved", "warning", summary)

    def _alert(
        self,
        state: _SeriesState,
        sample: MetricSample,
        name: str,
        status: str,
        severity: str,
        summary: str,
    ) -> Alert:
        if status == "firing":
            state.fired[name] = _event_id(sample, name, sample.time)
        alert_id = state.fired[name] if status == "firing" else f"{state.fired.pop(name)}-r"
        return Alert(
            id=alert_id,
            time=sample.time,
            name=name,
            status=status,
            severity=severity,
            service=sample.service,
            resource=sample.resource,
            summary=summary,
            source=SOURCE,
            labels={"metric": sample.metric},
        )


def describe_duration(seconds: float) -> str:
    """A rounded human duration: "about 40 min", "about 2 h", "about 3 d"."""
    if seconds < 90:
        return "now" if seconds < 30 else "about 1 min"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    if seconds < 172800:
        return f"about {round(seconds / 3600)} h"
    return f"about {round(seconds / 86400)} d"


def _entity(sample: MetricSample) -> str:
    return sample.resource or sample.service or "?"


def _event_id(sample: MetricSample, name: str, time: float) -> str:
    key = "\x1f".join((*sample.series_key, name, repr(time)))
    return f"anom-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}"
