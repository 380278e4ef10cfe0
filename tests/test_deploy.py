"""docker-compose.yml, the Dockerfile and deploy/prometheus.yml agree with the code.

There is no Docker engine here: the files are checked by parsing them, and the compose
commands are parsed by the real `aiops` argument parser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiops.cli import build_parser
from aiops.commands.run import DEFAULT_METRICS_PORT
from connectors.kafka import topics
from connectors.webhook import DEFAULT_PORT as WEBHOOK_PORT

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def _listeners(text: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in text.split(","):
        name, address = item.split("://")
        host, port = address.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def test_kafka_is_the_official_image_in_kraft_single_node_mode(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node = env["KAFKA_NODE_ID"]
    controller = _listeners(env["KAFKA_LISTENERS"])["CONTROLLER"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node}@kafka:{controller[1]}"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"  # one node


def test_the_services_reach_kafka_where_it_advertises_itself(compose: dict) -> None:
    advertised = _listeners(_env(compose["services"]["kafka"])["KAFKA_ADVERTISED_LISTENERS"])
    host, port = advertised["PLAINTEXT"]
    default_port = int(topics.DEFAULT_BOOTSTRAP.rsplit(":", 1)[1])
    assert (host, port) == ("kafka", default_port)
    parser = build_parser()
    for name in ("aiops", "webhook"):
        service = compose["services"][name]
        args = parser.parse_args(service["command"])
        assert args.bootstrap_servers == f"{host}:{port}"
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        # The topic names are the contract's defaults (nothing overridden).
        assert args.alerts_topic == topics.ALERTS == "aiops.alerts"


def test_the_correlator_uses_the_defaults_and_can_scale(compose: dict) -> None:
    service = compose["services"]["aiops"]
    args = build_parser().parse_args(service["command"])
    assert args.command == "run"
    assert (args.changes_topic, args.incidents_topic) == (topics.CHANGES, topics.INCIDENTS)
    assert (args.predictions_topic, args.dead_letter_topic) == (
        topics.PREDICTIONS,
        topics.DEAD_LETTER,
    )
    assert args.checkpoint_topic == topics.CHECKPOINTS
    assert args.metrics_port == DEFAULT_METRICS_PORT
    assert [str(p) for p in service["expose"]] == [str(DEFAULT_METRICS_PORT)]
    assert "ports" not in service  # no fixed host port: `--scale aiops=N` works
    assert args.partitions > 1


def test_the_webhook_listens_on_its_default_port(compose: dict) -> None:
    service = compose["services"]["webhook"]
    args = build_parser().parse_args(service["command"])
    assert args.command == "webhook" and args.port == WEBHOOK_PORT
    assert service["ports"] == [f"{WEBHOOK_PORT}:{WEBHOOK_PORT}"]


def test_prometheus_scrapes_every_replica_and_the_webhook(compose: dict) -> None:
    prometheus = compose["services"]["prometheus"]
    mount = next(
        v for v in prometheus["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro")
    )
    config = yaml.safe_load((ROOT / mount.split(":")[0]).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    run_sd = jobs["aiops-run"]["dns_sd_configs"][0]
    assert run_sd["names"] == ["aiops"] and run_sd["port"] == DEFAULT_METRICS_PORT
    assert jobs["aiops-webhook"]["static_configs"][0]["targets"] == [f"webhook:{WEBHOOK_PORT}"]


def test_the_image_installs_the_project_and_runs_the_service() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # Built into a wheel in a stage with a C compiler (setup.py compiles with mypyc), installed
    # in the image that runs.
    assert re.search(r"^RUN pip wheel .*-w /wheels \.$", dockerfile, re.M)
    assert re.search(r"^RUN pip install /wheels/\*\.whl", dockerfile, re.M)
    assert "COPY pyproject.toml setup.py " in dockerfile
    assert 'ENTRYPOINT ["aiops"]' in dockerfile and 'CMD ["run"]' in dockerfile
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.M)
    assert exposed is not None
    assert set(exposed.group(1).split()) == {str(DEFAULT_METRICS_PORT), str(WEBHOOK_PORT)}
    # Every package the project installs is copied into the image.
    for package in ("aiops", "config", "connectors", "models", "pipeline"):
        assert f"COPY {package} ./{package}" in dockerfile
