"""`sla-processor ingest` against the real broker, with a real worker.

Webhooks posted to a running ingest become alerts from a running worker identical (by alert id)
to `replay` of the events ingest put on the topic; redelivered webhooks reach the topic again
with the same event_id and give no second alert. With the broker stopped the endpoint answers
503 with Retry-After within 5 s; once it is back, the helpdesk's retry is stored.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ingest_harness import IngestProcess, fixture
from worker_harness import Topics, WorkerProcess, alerts_of, create_topics, free_port, read_all

from processor.domain.events import parse_event
from processor.domain.policy import default_policy
from processor.localkafka import LocalKafka
from processor.replay import Replayer

pytestmark = pytest.mark.integration


def _z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _jira_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _zendesk_ticket(ticket: str, created: datetime, priority: str) -> dict[str, Any]:
    payload = fixture("zendesk_ticket_created.json")
    payload["id"] = f"created-{ticket}"
    payload["detail"].update(id=ticket, created_at=_z(created), priority=priority)
    payload["time"] = _z(created)
    return payload


def _zendesk_comment(name: str, ticket: str, at: datetime, event_id: str) -> dict[str, Any]:
    payload = fixture(name)
    payload.update(id=event_id, time=_z(at))
    payload["detail"]["id"] = ticket
    return payload


def _jira_issue(issue: str, created: datetime) -> dict[str, Any]:
    payload = fixture("jira_issue_created.json")
    payload["issue"]["id"] = issue
    payload["issue"]["fields"]["created"] = _jira_time(created)
    return payload


def _scenario(now: datetime) -> list[tuple[str, Any]]:
    """(endpoint, payload): every threshold is either well past or far in the future."""
    jira_comment = fixture("jira_comment_agent_public.json")
    jira_comment["issue"]["id"] = "20003"
    jira_comment["comment"].update(id="30003", created=_jira_time(now - timedelta(minutes=1)))
    changelog = fixture("jira_issue_updated_changelog.json")
    changelog["issue"]["id"] = "20004"
    changelog["timestamp"] = int((now - timedelta(minutes=5)).timestamp() * 1000)
    plain = {
        "type": "ticket.created",
        "event_id": "plain-1",
        "ticket_id": "plain:1",
        "occurred_at": _z(now - timedelta(hours=2)),
        "customer_id": "c-plain",
        "tier": "gold",
        "priority": 1,
        "country": "SE",
        "timezone": "Europe/Stockholm",
    }
    return [
        # A: gold P1 (30m), 2h old: near 75%, near 90%, breach; a note and a customer reply
        ("zendesk", _zendesk_ticket("9001", now - timedelta(hours=2), "urgent")),
        (
            "zendesk",
            _zendesk_comment(
                "zendesk_comment_agent_private_note.json",
                "9001",
                now - timedelta(minutes=90),
                "note-9001",
            ),
        ),
        (
            "zendesk",
            _zendesk_comment(
                "zendesk_comment_requester.json", "9001", now - timedelta(minutes=80), "reply-9001"
            ),
        ),
        # B: gold P2 (1h), answered 2 minutes after creation: no alert
        ("zendesk", _zendesk_ticket("9002", now - timedelta(minutes=50), "HIGH")),
        (
            "zendesk",
            _zendesk_comment(
                "zendesk_comment_agent_public.json",
                "9002",
                now - timedelta(minutes=48),
                "answer-9002",
            ),
        ),
        # C: Jira silver P2 (2h), 3h old: three alerts, then answered: sla.resolved
        ("jira", _jira_issue("20003", now - timedelta(hours=3))),
        ("jira", jira_comment),
        # D: Jira, 10 minutes old, then Highest + Waiting for customer: thresholds in the future
        ("jira", _jira_issue("20004", now - timedelta(minutes=10))),
        ("jira", changelog),
        ("events", plain),
    ]


def _replay(values: list[bytes], until: datetime) -> set[str]:
    replayer = Replayer(default_policy(), until=until)
    events = sorted((parse_event(v) for v in values), key=lambda e: e.occurred_at)
    alerts = [a for e in events for a in replayer.feed(e)] + replayer.finish()
    return {a.alert_id for a in alerts}


def _post(ingest: IngestProcess, endpoint: str, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return getattr(ingest, endpoint)(payload)  # type: ignore[no-any-return]


def test_webhooks_become_the_alerts_replay_gives_and_redelivery_adds_none(
    kafka_bootstrap: str, unique_name: Any, tmp_path: Path
) -> None:
    topics = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"))
    asyncio.run(create_topics(kafka_bootstrap, topics))
    ingest = IngestProcess(kafka_bootstrap, topics.events, tmp_path).start()
    worker = WorkerProcess(kafka_bootstrap, topics, tmp_path / "w").start()
    try:
        ingest.wait_ready()
        worker.wait_ready()
        now = datetime.now(UTC)
        scenario = _scenario(now)
        for endpoint, payload in scenario:
            status, _, body = _post(ingest, endpoint, payload)
            assert status == 200 and json.loads(body)["status"] == "stored", body
        for endpoint, payload in (scenario[0], scenario[6]):  # redeliveries
            assert _post(ingest, endpoint, copy.deepcopy(payload))[0] == 200
        records = asyncio.run(read_all(kafka_bootstrap, topics.events, idle=3))
        values = [r.value for r in records if r.key and not r.key.startswith(b"\x00")]
        events = [json.loads(v) for v in values if b'"event_id"' in v]
        repeated = Counter(e["event_id"] for e in events)
        assert repeated["zendesk:created-9001"] == 2 and repeated["jira:20003:comment:30003"] == 2
        assert all(parse_event(json.dumps(e)) for e in events)
        expected = _replay([json.dumps(e).encode() for e in events], datetime.now(UTC))
        assert len(expected) == 3 + 4 + 3  # A, C (with sla.resolved), plain
        alerts = alerts_of(
            asyncio.run(
                read_all(kafka_bootstrap, topics.alerts, until_count=len(expected), timeout=90)
            )
        )
        time.sleep(3)  # nothing more may follow
        alerts = alerts_of(asyncio.run(read_all(kafka_bootstrap, topics.alerts, idle=2)))
        ids = [a["alert_id"] for a in alerts]
        assert sorted(set(ids)) == sorted(expected), worker.tail()
        assert len(ids) == len(set(ids)), "a redelivered webhook gave a second alert"
    finally:
        worker.stop()
        ingest.stop()


def _concurrent_posts(ingest: IngestProcess, count: int) -> None:
    """While the broker is failing one request probes it; the others are 503 at once (< 1 s)."""
    from concurrent.futures import ThreadPoolExecutor

    def post(i: int) -> tuple[int, float]:
        started = time.monotonic()
        status = ingest.zendesk(_zendesk_ticket(f"71{i}", datetime.now(UTC), "low"))[0]
        return status, time.monotonic() - started

    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(post, range(count)))
    assert all(status == 503 for status, _ in answers), answers
    assert sum(took < 1.0 for _, took in answers) >= count - 1, answers


def test_broker_down_is_503_with_retry_after_and_the_retry_is_stored(
    tmp_path: Path, unique_name: Any
) -> None:
    kafka = LocalKafka(port=free_port(), controller_port=free_port(), data_dir=tmp_path / "k")
    kafka.start(timeout=120)
    ingest = None
    try:
        topics = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), "unused")
        asyncio.run(create_topics(kafka.bootstrap, topics))
        ingest = IngestProcess(kafka.bootstrap, topics.events, tmp_path / "i").start()
        ingest.wait_ready()
        first = _zendesk_ticket("7001", datetime.now(UTC), "low")
        assert ingest.zendesk(first)[0] == 200
        kafka.stop()
        retried = _zendesk_ticket("7002", datetime.now(UTC), "normal")
        started = time.monotonic()
        status, headers, body = ingest.zendesk(retried)
        took = time.monotonic() - started
        assert status == 503, body
        assert took < 5.0, f"503 after {took:.1f}s"
        assert 0 < int(headers["Retry-After"]) < 60
        _concurrent_posts(ingest, 6)
        assert json.loads(ingest.request("GET", "/healthz")[2])["broker"] == "unavailable"
        kafka.start(timeout=120)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # what the helpdesk does on 503 + Retry-After
            status, _, _ = ingest.zendesk(retried)
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, ingest.tail()
        records = asyncio.run(read_all(kafka.bootstrap, topics.events, idle=3))
        ids = {json.loads(r.value)["event_id"] for r in records}
        assert {"zendesk:created-7001", "zendesk:created-7002"} <= ids
        _, _, metrics = ingest.request("GET", "/metrics")
        assert b'sla_ingest_requests_total{outcome="unavailable",source="zendesk"}' in metrics
    finally:
        if ingest is not None:
            ingest.stop()
        kafka.stop()
