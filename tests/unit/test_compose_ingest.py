"""docker-compose.yml's ingest service: the repo image, published on loopback only, secrets from
the shell (never in the file), the sample directory and mapping mounted."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_ingest_service() -> None:
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["ingest"]
    env = service["environment"]
    assert service["build"] == "." and service["command"] == ["ingest"]
    assert env["SLA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert service["ports"] == ["127.0.0.1:8088:8088"]
    for key in ("SLA_ZENDESK_SIGNING_SECRET", "SLA_JIRA_WEBHOOK_SECRET", "SLA_EVENTS_TOKEN"):
        assert env[key] == f"${{{key}:-}}", key
    assert "./examples:/etc/sla:ro" in service["volumes"]
    for key in ("SLA_CUSTOMER_DIRECTORY", "SLA_INGEST_CONFIG"):
        assert (REPO / "examples" / Path(env[key]).name).exists(), key
    assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
