"""Paging under failure: the forwarder killed with -9 three times and Alertmanager stopped for
30 s (restarted with no alerts in memory) while alerts arrive, on the real broker and a real
Alertmanager (Debian package) whose webhook receiver is this test.

Afterwards every page replay implies is firing again, none extra, and the webhook saw each page
notified firing at most once (exactly once for the pages still firing): a forwarder that
re-fired a page it had already ended, or let a page lapse and fire again, shows up as a
duplicate here. Alertmanager keeps its notification log in its data dir across the restart
(it is stopped with SIGTERM), as a production Alertmanager with persistent storage does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from paging_helpers import (
    ForwarderProcess,
    Shows,
    Webhook,
    ended_pages,
    expected_pages,
    firing_labels,
    replay_alerts,
    scenario_events,
    wait_for,
)

from devtools import Topics, create_topics, free_port, produce, wait_committed
from processor.paging.localam import LocalAlertmanager, alertmanager_binary

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

CHUNKS = 12
CHUNK_GAP = 4.0  # seconds between chunks: alerts arrive over ~45 s


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


def test_kill_9_three_times_and_alertmanager_restart_page_each_once(
    kafka_bootstrap: str, unique_name: Any, webhook: Webhook, tmp_path: Path
) -> None:
    assert alertmanager_binary(), "prometheus-alertmanager missing: run install-system-deps.sh"
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = replay_alerts(scenario_events(now, tickets=150, seed=3), until=now)
    expected, ended = expected_pages(alerts), ended_pages(alerts)
    topics = Topics(unique_name("ev"), unique_name("alerts"), unique_name("dlq"), unique_name("g"))
    asyncio.run(create_topics(kafka_bootstrap, topics))

    am = LocalAlertmanager(tmp_path / "am", free_port(), webhook_url=webhook.url).start()
    forwarder = ForwarderProcess(
        kafka_bootstrap, topics.alerts, unique_name("page"), tmp_path / "fwd",
        env_extra={"SLA_ALERTMANAGER_URL": am.url, "SLA_ALERTMANAGER_RESEND_SECONDS": "2",
                   "SLA_PAGING_BATCH": "7"},
    ).start()  # fmt: skip
    size = -(-len(alerts) // CHUNKS)
    last: dict[int, int] = {}
    events = {2: "kill", 4: "kill", 5: "am-stop", 8: "kill", 12: "am-start"}
    am_stopped_at = 0.0
    try:
        for n in range(CHUNKS + 1):
            chunk = alerts[n * size : (n + 1) * size]
            if chunk:
                offsets = asyncio.run(produce(kafka_bootstrap, topics.alerts,
                                              [a.model_dump(mode="json") for a in chunk],
                                              [a.ticket_id.encode() for a in chunk]))  # fmt: skip
                last.update({p: max(o, last.get(p, -1)) for p, o in offsets.items()})
            action = events.get(n)
            if action == "kill":
                time.sleep(1.0)  # let it take some alerts in, then lose the uncommitted tail
                forwarder.kill()
                forwarder.start()
            elif action == "am-stop":
                am.stop()
                am_stopped_at = time.monotonic()
            elif action == "am-start":
                time.sleep(max(0.0, 30 - (time.monotonic() - am_stopped_at)))
                am.start()
            time.sleep(CHUNK_GAP)
        group = f"{forwarder.group_prefix}-alertmanager"
        wait_committed(kafka_bootstrap, group, topics.alerts, last, timeout=60)
        wait_for(Shows(am.url, set(expected)), 30, "every page firing again")
        time.sleep(4)  # group_wait 1 s: give Alertmanager time to send what it would send
        assert firing_labels(am.url) == set(expected)
        firing = webhook.counts("firing")
        doubled = {labels: n for labels, n in firing.items() if n > 1}
        assert not doubled, f"pages notified more than once: {doubled}"
        assert set(expected) <= set(firing), "a firing page was never notified"
        assert set(firing) <= set(expected) | ended
        assert all(n == 1 for n in webhook.counts("resolved").values())
    finally:
        code = forwarder.stop()
        am.stop()
    assert code == 0, forwarder.log()
