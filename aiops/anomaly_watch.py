"""Metric samples in, anomaly and saturation alerts out: one detector per series.

The glue for the streaming pipeline: feed every `MetricSample` (the `aiops.metrics` topic) to
`MetricWatch.observe` and pass the alerts it returns on like any other alert. Each series
(service, resource, metric) gets its own `SeriesAnomalyDetector`; series whose metric has a
known limit (e.g. `{"disk_used_percent": 100}`) also get a `SaturationForecaster`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from models.anomaly import SeriesAnomalyDetector
from models.saturation import SaturationForecaster
from pipeline.anomaly_alerts import AnomalyAlerter
from pipeline.records import Alert, MetricSample


@dataclass(slots=True)
class _Series:
    detector: SeriesAnomalyDetector
    saturation: SaturationForecaster | None


class MetricWatch:
    def __init__(
        self,
        alerter: AnomalyAlerter | None = None,
        limits: Mapping[str, float] | None = None,
        detector_factory: Callable[[], SeriesAnomalyDetector] = SeriesAnomalyDetector,
    ) -> None:
        self.alerter = alerter or AnomalyAlerter()
        self.limits = dict(limits or {})
        self.detector_factory = detector_factory
        self._series: dict[tuple[str, str, str], _Series] = {}

    def observe(self, sample: MetricSample) -> list[Alert]:
        series = self._series.get(sample.series_key)
        if series is None:
            limit = self.limits.get(sample.metric)
            saturation = SaturationForecaster(limit) if limit is not None else None
            series = self._series[sample.series_key] = _Series(self.detector_factory(), saturation)
        expected = series.detector.expected_range()
        assessment = series.detector.update(sample.value, sample.time)
        time_to_limit = None
        if series.saturation is not None:
            series.saturation.learn_one(sample.value, sample.time)
            time_to_limit = series.saturation.time_to_limit()
        return self.alerter.observe(sample, assessment.score, expected, time_to_limit)
