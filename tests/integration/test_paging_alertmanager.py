"""`sla-processor page` against the real broker and a real Alertmanager (Debian package).

A replayed scenario's alerts are published to a fresh alerts topic as the worker would (keyed by
ticket); the forwarder must make Alertmanager show exactly the pages replay implies: every open
incident firing with its last alert's labels and annotations, every resolved or relabelled page
ended, none missing, none extra. A poison record is skipped and counted, and the group commits
to the end of the topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from paging_helpers import (
    ForwarderProcess,
    Shows,
    am_alerts,
    ended_pages,
    expected_pages,
    replay_alerts,
    scenario_events,
    wait_for,
)
from worker_harness import Topics, create_topics, free_port, produce, wait_committed

from processor.paging.localam import LocalAlertmanager, alertmanager_binary

pytestmark = pytest.mark.integration


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[LocalAlertmanager]:
    assert alertmanager_binary(), (
        "prometheus-alertmanager missing: run ops/scripts/install-system-deps.sh"
    )
    am = LocalAlertmanager(tmp_path / "am", free_port()).start()
    try:
        yield am
    finally:
        am.stop()


def test_alertmanager_shows_exactly_the_pages_replay_implies(
    kafka_bootstrap: str, unique_name, alertmanager: LocalAlertmanager, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = replay_alerts(scenario_events(now, tickets=60), until=now)
    expected = expected_pages(alerts)
    ended = ended_pages(alerts)
    assert len(expected) >= 15 and len(ended) >= 5, "scenario too small to mean anything"
    assert {a.type for a in alerts} == {"sla.near_breach", "sla.breached", "sla.resolved"}

    topics = Topics(unique_name("ev"), unique_name("alerts"), unique_name("dlq"), unique_name("g"))
    asyncio.run(create_topics(kafka_bootstrap, topics))
    records: list[dict | bytes] = [a.model_dump(mode="json") for a in alerts]
    keys: list[bytes | None] = [a.ticket_id.encode() for a in alerts]
    records.insert(len(records) // 2, b"{not json")  # poison: skipped, never blocks
    keys.insert(len(keys) // 2, b"T-poison")
    last = asyncio.run(produce(kafka_bootstrap, topics.alerts, records, keys))

    forwarder = ForwarderProcess(
        kafka_bootstrap, topics.alerts, unique_name("page"), tmp_path / "fwd",
        env_extra={
            "SLA_ALERTMANAGER_URL": alertmanager.url,
            "SLA_TICKET_URL_TEMPLATE": "https://helpdesk.example/tickets/{ticket_id}",
        },
    ).start()  # fmt: skip
    try:
        wait_for(Shows(alertmanager.url, set(expected)), 90, "expected pages")
        wait_committed(
            kafka_bootstrap, f"{forwarder.group_prefix}-alertmanager", topics.alerts, last
        )
        shown = {tuple(sorted(a["labels"].items())): a for a in am_alerts(alertmanager.url)}
        assert set(shown) == set(expected)
        assert not ended & set(shown)
        for labels, alert in expected.items():
            annotations = shown[labels]["annotations"]
            assert annotations["alert_id"] == alert.alert_id
            assert annotations["policy_version"] == alert.policy_version
            assert annotations["deadline"] == alert.deadline.isoformat().replace("+00:00", "Z")
            assert (
                annotations["ticket_url"] == f"https://helpdesk.example/tickets/{alert.ticket_id}"
            )
            assert alert.ticket_id in annotations["summary"]
            assert shown[labels]["generatorURL"] == annotations["ticket_url"]
        metrics = forwarder.metrics()
        assert 'sla_paging_failed_total{reason="poison",target="alertmanager"} 1.0' in metrics
        assert f'sla_paging_open_pages{{target="alertmanager"}} {float(len(expected))}' in metrics
    finally:
        code = forwarder.stop()
    assert code == 0, forwarder.log()
