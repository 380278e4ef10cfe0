"""Polling Prometheus' HTTP API for metric samples: config, answer mapping, and a real server.

The end-to-end test runs a throwaway Prometheus (scripts/prometheus-local) that scrapes a
`prometheus_client` exporter started here on loopback; it is skipped only when the
`prometheus` binary is not installed (Debian: apt-get install -y prometheus).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.files import DeadLetter, InputError
from connectors.prometheus import (
    PrometheusConfig,
    PrometheusError,
    PrometheusPoller,
    QueryConfig,
    load_prometheus_config,
    samples_from_response,
)
from pipeline.records import MetricSample

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "prometheus-local"

DISK = QueryConfig(
    query="aiops_test_disk_used_percent",
    metric="disk_used_percent",
    service="storage",
    resource_label="host",
)


def vector(*items: tuple[dict[str, str], list]) -> dict:
    result = [{"metric": labels, "value": value} for labels, value in items]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_vector_answer_becomes_samples_with_labels_mapped() -> None:
    body = vector(({"__name__": "x", "host": "db-1"}, [1767607203.5, "71.25"]))
    (sample,) = samples_from_response(DISK, body, "src")
    assert sample == MetricSample(
        time=1767607203.5,
        metric="disk_used_percent",
        value=71.25,
        service="storage",
        resource="db-1",
    )


def test_matrix_and_scalar_answers() -> None:
    matrix = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"host": "db-2"}, "values": [[100.0, "1"], [115.0, "2"]]}],
        },
    }
    got = list(samples_from_response(DISK, matrix, "src"))
    assert [(s.time, s.value, s.resource) for s in got] == [
        (100.0, 1.0, "db-2"),
        (115.0, 2.0, "db-2"),
    ]
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [100.0, "3"]}}
    (only,) = samples_from_response(DISK, scalar, "src")
    assert (only.value, only.service, only.resource) == (3.0, "storage", None)


def test_unusable_results_are_dead_letters_with_reasons() -> None:
    query = QueryConfig(query="q", metric="m", resource_label="instance")
    body = vector(
        ({"instance": "a"}, [100.0, "NaN"]),
        ({"job": "no-instance-label"}, [100.0, "1"]),
        ({"instance": "b"}, [100.0]),
        ({"instance": "c"}, [100.0, "5"]),
    )
    body["data"]["result"].append("not an object")
    items = list(samples_from_response(query, body, "prometheus:m"))
    samples = [i for i in items if isinstance(i, MetricSample)]
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert [s.resource for s in samples] == ["c"]
    reasons = [d.error for d in letters]
    assert "finite" in reasons[0]
    assert "needs 'service' or 'resource'" in reasons[1]
    assert reasons[3] == "malformed result item"
    assert all(d.file == "prometheus:m" for d in letters)


def test_error_answers_raise() -> None:
    with pytest.raises(PrometheusError, match="parse error"):
        list(samples_from_response(DISK, {"status": "error", "error": "parse error"}, "s"))
    with pytest.raises(PrometheusError, match="unexpected result type"):
        list(samples_from_response(DISK, {"status": "success", "data": {}}, "s"))


def test_poller_builds_the_api_urls() -> None:
    asked: list[str] = []

    def fetch(url: str, timeout: float) -> bytes:
        asked.append(url)
        return json.dumps(vector(({"host": "db-1"}, [100.0, "1"]))).encode()

    config = PrometheusConfig(url="http://prom:9090/", queries=[DISK])
    poller = PrometheusPoller(config, fetch)
    assert len(poller.poll(at=100.0)) == 1
    poller.backfill(0.0, 60.0, 15)
    assert (
        asked[0] == "http://prom:9090/api/v1/query?query=aiops_test_disk_used_percent&time=100.000"
    )
    assert asked[1].startswith("http://prom:9090/api/v1/query_range?query=")
    assert asked[1].endswith("&start=0.000&end=60.000&step=15")


def test_stream_keeps_going_after_a_failed_poll() -> None:
    answers = [PrometheusError("cannot reach prom"), vector(({"host": "db-1"}, [1e9, "7"]))]

    def fetch(url: str, timeout: float) -> bytes:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return json.dumps(answer).encode()

    poller = PrometheusPoller(PrometheusConfig(url="http://prom", queries=[DISK]), fetch)
    got = list(poller.stream(stop=lambda: not answers, sleep=lambda s: None))
    assert [s.value for s in got if isinstance(s, MetricSample)] == [7.0]
    assert poller.errors == ["cannot reach prom"]


def test_config_file_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "prom.yaml"
    good.write_text(
        "url: http://127.0.0.1:9090\ninterval_s: 15\nqueries:\n"
        "  - {query: up, metric: up, service_label: job}\n"
    )
    config = load_prometheus_config(good)
    assert (config.interval_s, config.queries[0].service_label) == (15.0, "job")
    bad = tmp_path / "bad.yaml"
    bad.write_text("url: http://x\nqueries:\n  - {query: up, metric: up}\n")
    with pytest.raises(InputError, match="needs service, resource"):
        load_prometheus_config(bad)
    bad.write_text("url: ftp://x\nqueries: [{query: up, metric: up, service: s}]\n")
    with pytest.raises(InputError, match="url"):
        load_prometheus_config(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_prometheus_config(tmp_path / "absent.yaml")


# -- against a real Prometheus ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def exporter() -> Iterator[int]:
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    registry = CollectorRegistry()
    # not "instance": Prometheus sets that label to the scrape target (and would rename ours)
    gauge = Gauge("aiops_test_disk_used_percent", "disk used", ["host"], registry=registry)
    gauge.labels(host="db-1").set(71.5)
    gauge.labels(host="db-2").set(12.0)
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def prometheus(tmp_path: Path, exporter: int) -> Iterator[str]:
    binary = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus")
    if not binary:
        reason = "prometheus binary not installed (apt-get install -y prometheus)"
        if os.environ.get("AIOPS_REQUIRE_PROMETHEUS", "") in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    port = _free_port()
    env = {
        **os.environ,
        "PROM_DIR": str(tmp_path / "prometheus"),
        "PROM_PORT": str(port),
        "PROM_TARGETS": f"127.0.0.1:{exporter}",
        "PROMETHEUS_BIN": binary,
    }
    started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, check=False)
        status = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True)
        assert status.returncode == 3  # not running


@pytest.mark.slow
def test_polls_a_real_prometheus_scraping_a_local_exporter(prometheus: str) -> None:
    poller = PrometheusPoller(PrometheusConfig(url=prometheus, queries=[DISK]))
    deadline = time.monotonic() + 30
    samples: list = []
    while time.monotonic() < deadline:  # the first scrapes land within a few seconds
        samples = [s for s in poller.poll() if isinstance(s, MetricSample)]
        if len(samples) == 2:
            break
        time.sleep(0.5)
    by_resource = {s.resource: s for s in samples}
    assert set(by_resource) == {"db-1", "db-2"}
    assert by_resource["db-1"].value == 71.5
    assert by_resource["db-2"].value == 12.0
    assert {(s.service, s.metric) for s in samples} == {("storage", "disk_used_percent")}
    assert abs(by_resource["db-1"].time - time.time()) < 60
    time.sleep(1.5)  # another scrape or two, then read them back as a range
    now = time.time()
    history = [s for s in poller.backfill(now - 10, now, 1) if isinstance(s, MetricSample)]
    assert len([s for s in history if s.resource == "db-1"]) >= 2
    assert {s.value for s in history if s.resource == "db-1"} == {71.5}
    with pytest.raises(PrometheusError, match="HTTP 400"):
        PrometheusPoller(
            PrometheusConfig(url=prometheus, queries=[DISK.model_copy(update={"query": "up{"})])
        ).poll()


def test_prometheus_local_script_refuses_unknown_commands() -> None:
    done = subprocess.run([str(SCRIPT), "restart"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
