"""1,000 malformed or hostile bodies, correctly signed so that they reach the mapping, against a
running ingest on the real broker: every answer is 2xx or 4xx (never 5xx, never a dropped
connection), and every record that reached the topic is a valid event."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_harness import FIXTURES, IngestProcess, jira_headers, zendesk_headers
from worker_harness import Topics, create_topics, read_all

from processor.domain.events import parse_event

pytestmark = pytest.mark.integration

_PAYLOADS = {p.name: json.loads(p.read_text())["payload"] for p in sorted(FIXTURES.glob("*.json"))}
_PAYLOADS["events_plain.json"] = [
    {
        "type": "ticket.created",
        "event_id": "p-1",
        "ticket_id": "plain:1",
        "occurred_at": "2026-03-02T09:00:00+01:00",
        "customer_id": "c",
        "tier": "gold",
        "priority": 1,
        "timezone": "Europe/Paris",
        "country": "FR",
    },
    {
        "type": "ticket.customer_replied",
        "event_id": "p-2",
        "ticket_id": "plain:1",
        "occurred_at": "2026-03-02T09:05:00Z",
        "public": True,
    },
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "URGENT",
            "Open",
            "hold",
            "2025-01-08T10:12:07Z",
            "2025-01-08T10:12:07+0000",
            "9999-99-99T99:99:99Z",
            "x" * 2000,
            "zen:event-type:ticket.created",
            "jira:issue_created",
            "customer",
            "app",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A documented payload with a few nodes replaced, deleted or given odd values."""
    name = draw(st.sampled_from(sorted(_PAYLOADS)))
    payload: Any = json.loads(json.dumps(_PAYLOADS[name]))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return name.split("_", 1)[0], json.dumps(payload).encode()


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"type":' * 3000),
    st.just(b"\xff\xfe{}"),
    values.map(lambda v: json.dumps(v).encode()),
)
hostile = st.one_of(
    mutated(),
    st.tuples(st.sampled_from(["zendesk", "jira", "events"]), raw_bodies),
)


@pytest.fixture(scope="module")
def running(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    topics = Topics("hostile-ev-ingest", "hostile-al-ingest", "hostile-dlq-ingest", "unused")
    topics.events += f"-{id(topics):x}"
    asyncio.run(create_topics(kafka_bootstrap, topics))
    ingest = IngestProcess(kafka_bootstrap, topics.events, tmp_path_factory.mktemp("ingest"))
    ingest.start().wait_ready()
    try:
        yield ingest, topics
    finally:
        ingest.stop()


STATUSES: Counter[int] = Counter()


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(case=hostile)
def test_hostile_signed_bodies_never_give_5xx(running: Any, case: tuple[str, bytes]) -> None:
    ingest, _ = running
    endpoint, body = case
    if endpoint == "zendesk":
        headers = zendesk_headers(body)
    elif endpoint == "jira":
        headers = jira_headers(body)
    else:
        headers = {"Authorization": "Bearer events-test-token"}
    status, _, answer = ingest.request(
        "POST", f"/webhooks/{endpoint}" if endpoint != "events" else "/events", body, headers
    )
    STATUSES[status] += 1
    assert status < 500, (status, answer, body[:300])
    if status < 300:
        assert json.loads(answer)["status"] in ("stored", "ignored")
    else:
        assert 400 <= status < 500 and json.loads(answer)["reason"]


def test_nothing_invalid_reached_the_topic(running: Any, kafka_bootstrap: str) -> None:
    _, topics = running
    assert sum(STATUSES.values()) >= 1000, "run with the hostile test first (same module)"
    records = asyncio.run(read_all(kafka_bootstrap, topics.events, idle=3))
    for record in records:
        event = parse_event(record.value)
        assert record.key == event.ticket_id.encode()
    print(f"\nstatuses {dict(sorted(STATUSES.items()))}; {len(records)} events stored")
    assert STATUSES[200] > 0 and sum(v for k, v in STATUSES.items() if k >= 400) > 0
