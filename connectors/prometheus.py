"""Metric samples polled from a Prometheus server's HTTP query API.

Config (YAML):

```yaml
url: http://127.0.0.1:9090        # the Prometheus server
interval_s: 30                    # poll every 30 s (stream)
timeout_s: 5
queries:
  - query: 100 * (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)
    metric: disk_used_percent     # the sample's metric name
    service: storage              # fixed service, and/or
    resource_label: instance      # resource taken from each result series' label
```

Each query names its `metric` and where `service` and `resource` come from: a fixed value, or
the value of a label of each result series (`service_label` / `resource_label`); a series
without the label falls back to the fixed value. `poll` asks `/api/v1/query` for the value
now; `backfill` asks `/api/v1/query_range` for a past interval. A result that cannot become a
canonical sample (NaN, a missing label, a malformed item) is a dead letter with its reason.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.files import DeadLetter, InputError, read_yaml
from pipeline.records import MetricSample, RecordError, metric_from_dict


class PrometheusError(Exception):
    """The server could not be asked or did not answer with data (network, HTTP, API error)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueryConfig(_Strict):
    query: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    service: str | None = None
    resource: str | None = None
    service_label: str | None = None
    resource_label: str | None = None

    @model_validator(mode="after")
    def _names_an_entity(self) -> QueryConfig:
        if not (self.service or self.resource or self.service_label or self.resource_label):
            raise ValueError("needs service, resource, service_label or resource_label")
        return self


class PrometheusConfig(_Strict):
    url: str = Field(pattern=r"^https?://")
    interval_s: float = Field(default=30.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)
    queries: list[QueryConfig] = Field(min_length=1)


def load_prometheus_config(path: Path) -> PrometheusConfig:
    doc = read_yaml(path)
    try:
        return PrometheusConfig.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise InputError(f"{path}: {where}: {first['msg']}") from None


Fetch = Callable[[str, float], bytes]


def _http_get(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()[:500].decode("utf-8", "replace")
        raise PrometheusError(f"HTTP {exc.code} from {url}: {body}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise PrometheusError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


def _label(labels: dict[str, Any], name: str | None) -> str | None:
    value = labels.get(name) if name else None
    return value if isinstance(value, str) and value else None


def samples_from_response(
    query: QueryConfig, body: Any, source: str
) -> Iterator[MetricSample | DeadLetter]:
    """Samples of one API answer (`vector`, `matrix` or `scalar`), bad items as dead letters."""
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise PrometheusError(f"{source}: query failed: {error or 'not a success response'}")
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        result = [{"metric": {}, "value": result}]
    elif kind not in ("vector", "matrix") or not isinstance(result, list):
        raise PrometheusError(f"{source}: unexpected result type {kind!r}")
    for item in result:
        try:
            labels = item.get("metric") or {}
            points = item["values"] if kind == "matrix" else [item["value"]]
            if not isinstance(labels, dict) or not isinstance(points, list):
                raise TypeError("bad result item")
        except (AttributeError, KeyError, TypeError):
            yield DeadLetter(source, 0, "malformed result item", json.dumps(item)[:2000])
            continue
        service = _label(labels, query.service_label) or query.service
        resource = _label(labels, query.resource_label) or query.resource
        for point in points:
            record = {"metric": query.metric, "service": service, "resource": resource}
            try:
                record["time"], record["value"] = point
                yield metric_from_dict(record)
            except (TypeError, ValueError, RecordError) as exc:
                raw = json.dumps({"metric": labels, "value": point})[:2000]
                yield DeadLetter(source, 0, str(exc) or "malformed sample", raw)


class PrometheusPoller:
    """Runs the configured queries against one Prometheus server."""

    def __init__(self, config: PrometheusConfig, fetch: Fetch = _http_get) -> None:
        self.config = config
        self._fetch = fetch
        self.errors: list[str] = []  # what went wrong in `stream`, newest last

    def _ask(self, endpoint: str, query: QueryConfig, params: dict[str, str]) -> Iterator:
        url = (
            f"{self.config.url.rstrip('/')}/api/v1/{endpoint}?"
            f"{urllib.parse.urlencode({'query': query.query, **params})}"
        )
        raw = self._fetch(url, self.config.timeout_s)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PrometheusError(f"{url}: answer is not JSON: {exc}") from None
        source = f"prometheus:{query.metric}"
        return samples_from_response(query, body, source)

    def poll(self, at: float | None = None) -> list[MetricSample | DeadLetter]:
        """Every query's value at `at` (default: the server's now)."""
        params = {} if at is None else {"time": f"{at:.3f}"}
        out: list[MetricSample | DeadLetter] = []
        for query in self.config.queries:
            out.extend(self._ask("query", query, params))
        return out

    def backfill(self, start: float, end: float, step_s: float) -> list[MetricSample | DeadLetter]:
        """Every query's values from start to end, one per step (oldest first per series)."""
        params = {"start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
        out: list[MetricSample | DeadLetter] = []
        for query in self.config.queries:
            out.extend(self._ask("query_range", query, params))
        return out

    def stream(
        self,
        stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[MetricSample | DeadLetter]:
        """Poll every `interval_s` until `stop()`; a failed poll is remembered in `errors`
        and retried at the next interval instead of ending the stream."""
        while not stop():
            started = time.monotonic()
            try:
                yield from self.poll()
            except PrometheusError as exc:
                self.errors.append(str(exc))
                del self.errors[:-100]
            sleep(max(0.0, self.config.interval_s - (time.monotonic() - started)))
