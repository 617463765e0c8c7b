"""The HTTP layer without a broker: every answer that is decided before producing (off
endpoints, bad signatures and tokens, too large, not JSON, unmappable, ignored), its status,
its body naming the reason, and the metric counting it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from processor.ingest.app import Ingest, create_app
from processor.ingest.directory import CustomerDirectory
from processor.ingest.mapping import load_mapping
from processor.ingest.producer import EventProducer
from processor.ingest.signatures import sign_jira, sign_zendesk
from processor.settings import IngestSettings

REPO = Path(__file__).resolve().parents[2]


async def _client(**settings: object) -> TestClient:  # type: ignore[type-arg]
    config = IngestSettings(bootstrap_servers="127.0.0.1:1", max_body_bytes=4096, **settings)  # type: ignore[arg-type]
    ingest = Ingest(
        config,
        load_mapping(),
        CustomerDirectory(REPO / "examples/customers.yaml"),
        EventProducer(config),  # never started: none of these requests reaches it
        CollectorRegistry(),
    )
    client = TestClient(TestServer(create_app(ingest)))
    await client.start_server()
    _INGESTS[id(client)] = ingest
    return client


_INGESTS: dict[int, Ingest] = {}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    c = await _client(zendesk_signing_secret="zd", jira_webhook_secret="jr", events_token="tok")
    yield c
    await c.close()


def _zendesk_headers(body: bytes, secret: str = "zd") -> dict[str, str]:
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": sign_zendesk(secret, stamp, body),
    }


def _rejections(client: TestClient, source: str, reason: str) -> float:  # type: ignore[type-arg]
    registry = _INGESTS[id(client)].registry
    value = registry.get_sample_value(
        "sla_ingest_rejections_total", {"source": source, "reason": reason}
    )
    return float(value or 0)


async def test_endpoints_without_a_secret_are_off() -> None:
    client = await _client()
    try:
        for path in ("/webhooks/zendesk", "/webhooks/jira", "/events"):
            response = await client.post(path, data=b"{}")
            assert response.status == 404
            assert (await response.json())["reason"] == "disabled"
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_bad_signatures_and_tokens_are_401(client: TestClient) -> None:  # type: ignore[type-arg]
    body = b'{"type": "zen:event-type:ticket.created"}'
    for headers in ({}, _zendesk_headers(body, "wrong")):
        assert (await client.post("/webhooks/zendesk", data=body, headers=headers)).status == 401
    assert _rejections(client, "zendesk", "bad_signature") == 1
    assert _rejections(client, "zendesk", "missing_signature") == 1
    bad_jira = {"X-Hub-Signature": sign_jira("wrong", body)}
    assert (await client.post("/webhooks/jira", data=body, headers=bad_jira)).status == 401
    bad_token = {"Authorization": "Bearer nope"}
    assert (await client.post("/events", data=b"{}", headers=bad_token)).status == 401


async def test_too_large_not_json_unmappable_and_ignored(client: TestClient) -> None:  # type: ignore[type-arg]
    big = b"{" + b" " * 5000 + b"}"
    response = await client.post("/webhooks/zendesk", data=big, headers=_zendesk_headers(big))
    assert response.status == 413
    junk = b"\xff not json"
    response = await client.post("/webhooks/zendesk", data=junk, headers=_zendesk_headers(junk))
    assert response.status == 400 and (await response.json())["reason"] == "not_json"
    payload = json.loads((REPO / "tests/fixtures/ingest/zendesk_ticket_created.json").read_text())
    payload["payload"]["detail"]["priority"] = "P0"
    body = json.dumps(payload["payload"]).encode()
    response = await client.post("/webhooks/zendesk", data=body, headers=_zendesk_headers(body))
    answer = await response.json()
    assert response.status == 422 and answer["field"] == "detail.priority", answer
    body = b'{"type": "zen:event-type:user.created", "id": "x"}'
    response = await client.post("/webhooks/zendesk", data=body, headers=_zendesk_headers(body))
    assert response.status == 200 and (await response.json())["status"] == "ignored"


async def test_plain_events_are_validated_before_anything_is_produced(client: TestClient) -> None:  # type: ignore[type-arg]
    auth = {"Authorization": "Bearer tok"}
    good = {
        "type": "ticket.status_changed",
        "event_id": "e",
        "ticket_id": "t",
        "occurred_at": "2026-03-02T09:00:00Z",
        "status": "open",
    }
    bad = {**good, "occurred_at": "2026-03-02T09:00:00"}  # no offset
    response = await client.post("/events", data=json.dumps([good, bad]), headers=auth)
    answer = await response.json()
    assert response.status == 422 and answer["field"] == "events.1", answer
    response = await client.post("/events", data=json.dumps([]), headers=auth)
    assert response.status == 422
