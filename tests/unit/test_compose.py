"""docker-compose.yml is valid compose and wires the demo as docs/contract.md#7-operations says.

A compose implementation validates the file (`docker compose config -q`, or the standalone
`docker-compose config -q`, which needs no Docker engine); the rest reads it with PyYAML and
checks it against the code and the other ops files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
INSTALL_HINT = "run `make setup` or `bash ops/scripts/install-system-deps.sh` (as root, on Debian)"
SERVICES = {
    "kafka",
    "topics",
    "worker",
    "simulator",
    "ingest",
    "pager",
    "alertmanager",
    "prometheus",
    "grafana",
}
PROCESSOR_SERVICES = ("topics", "worker", "simulator")


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    pytest.fail(
        f"neither `docker compose` nor `docker-compose` is installed: {INSTALL_HINT}", pytrace=False
    )


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in _services()[service].get("environment", {}).items()}


def _mounts(service: str) -> dict[str, str]:
    """Mount target -> source of a service's short-syntax volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in _services()[service].get("volumes", [])}


def test_compose_implementation_accepts_the_file() -> None:
    cmd = [*_compose_command(), "-f", str(COMPOSE), "config", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "GF_"))}
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, (
        f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )


def test_required_services_are_there() -> None:
    assert set(_services()) >= SERVICES


def test_kafka_image_is_the_version_pinned_for_local_kafka() -> None:
    settings = (REPO / "processor" / "localkafka" / "settings.py").read_text()
    match = re.search(r'^KAFKA_VERSION\s*=\s*"([^"]+)"', settings, re.MULTILINE)
    assert match, "KAFKA_VERSION not found in processor/localkafka/settings.py"
    assert _services()["kafka"]["image"] == f"apache/kafka:{match.group(1)}"


def test_kafka_is_a_single_kraft_node_with_a_healthcheck() -> None:
    env = _env("kafka")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_LISTENERS"] == "PLAINTEXT://:9092,CONTROLLER://:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[key] == "1", key
    check = " ".join(_services()["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in check


def test_processor_services_run_the_repo_image() -> None:
    for name in PROCESSOR_SERVICES:
        service = _services()[name]
        assert service["build"] == ".", name
        assert "entrypoint" not in service, f"{name}: the image's ENTRYPOINT is sla-processor"
        assert _env(name)["SLA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
    assert _services()["topics"]["command"] == ["topics", "create"]
    assert _services()["worker"]["command"] == ["worker"]
    assert _services()["simulator"]["command"] == ["simulate", "--rate", "5", "--backdate", "25m"]


def test_startup_order() -> None:
    services = _services()
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "simulator"):
        condition = services[name]["depends_on"]["topics"]["condition"]
        assert condition == "service_completed_successfully", name


def test_worker_serves_http_and_keeps_state_in_a_volume() -> None:
    env = _env("worker")
    assert env["SLA_WEB_HOST"] == "0.0.0.0"
    assert env.get("SLA_WEB_PORT", "6066") == "6066"
    assert "6066:6066" in _services()["worker"]["ports"]
    assert env["SLA_DATA_DIR"] == "/data"
    assert "/data" in _mounts("worker")


def test_prometheus_mounts_its_config_and_rules_and_scrapes_the_worker() -> None:
    assert _mounts("prometheus")["/etc/prometheus"] == "./ops/prometheus"
    command = _services()["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    config = yaml.safe_load((REPO / "ops" / "prometheus" / "prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert (REPO / "ops" / "prometheus" / rule_file).is_file(), rule_file
    assert "rules.yml" in config["rule_files"]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "sla-processor")
    assert job["static_configs"][0]["targets"] == ["worker:6066"]
    assert "9090:9090" in _services()["prometheus"]["ports"]


def test_grafana_is_provisioned_with_viewer_access() -> None:
    mounts = _mounts("grafana")
    assert mounts["/etc/grafana/provisioning"] == "./ops/grafana/provisioning"
    provider = REPO / "ops" / "grafana" / "provisioning" / "dashboards" / "sla.yml"
    path = yaml.safe_load(provider.read_text())["providers"][0]["options"]["path"]
    assert mounts[path] == "./ops/grafana/dashboards"
    env = _env("grafana")
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${GF_SECURITY_ADMIN_PASSWORD:-sla-demo}"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert "3000:3000" in _services()["grafana"]["ports"]


def test_dockerfile_installs_the_package_as_a_non_root_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert any("pip install -c constraints.txt ." in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["sla-processor"]' in lines


def test_pager_forwards_to_the_compose_alertmanager_and_is_scraped() -> None:
    service = _services()["pager"]
    assert service["command"] == ["page"] and service["build"] == "."
    env = _env("pager")
    assert env["SLA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["SLA_ALERTMANAGER_URL"] == "http://alertmanager:9093"
    assert env["SLA_PAGING_WEB_HOST"] == "0.0.0.0" and "6067:6067" in service["ports"]
    assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert _mounts("alertmanager")["/etc/alertmanager"] == "./ops/alertmanager"
    assert "9093:9093" in _services()["alertmanager"]["ports"]
    config = yaml.safe_load((REPO / "ops" / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "sla-paging")
    assert job["static_configs"][0]["targets"] == ["pager:6067"]


CLUSTER_NODES = ("kafka-1", "kafka-2", "kafka-3")
CLUSTER_PROCESSOR = ("cluster-topics", "cluster-worker", "cluster-simulator")


def test_cluster_profile_is_three_kraft_nodes_with_replicated_internal_topics() -> None:
    services = _services()
    voters = {_env(name)["KAFKA_CONTROLLER_QUORUM_VOTERS"] for name in CLUSTER_NODES}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({_env(name)["CLUSTER_ID"] for name in CLUSTER_NODES}) == 1
    for i, name in enumerate(CLUSTER_NODES, start=1):
        env = _env(name)
        assert services[name]["profiles"] == ["cluster"], name
        assert services[name]["image"] == services["kafka"]["image"], name
        assert env["KAFKA_NODE_ID"] == str(i)
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert "healthcheck" in services[name]
        assert _mounts(name)["/var/lib/kafka/data"] == f"{name}-data"


def test_cluster_profile_runs_the_processor_with_replication_3_and_min_isr_2() -> None:
    services = _services()
    for name in CLUSTER_PROCESSOR:
        env = _env(name)
        assert services[name]["profiles"] == ["cluster"], name
        assert services[name]["build"] == ".", name
        assert env["SLA_BOOTSTRAP_SERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092", name
        assert env["SLA_REPLICATION_FACTOR"] == "3" and env["SLA_MIN_INSYNC_REPLICAS"] == "2"
    for node in CLUSTER_NODES:
        assert services["cluster-topics"]["depends_on"][node]["condition"] == "service_healthy"
    for name in ("cluster-worker", "cluster-simulator"):
        condition = services[name]["depends_on"]["cluster-topics"]["condition"]
        assert condition == "service_completed_successfully", name
    assert "6068:6066" in services["cluster-worker"]["ports"]


def test_the_default_services_have_no_profile() -> None:
    """`docker compose up` alone still starts the single-node demo, and only that."""
    services = _services()
    assert all("profiles" not in services[name] for name in SERVICES)
    assert all(
        services[name]["profiles"] == ["cluster"] for name in services if name not in SERVICES
    )
