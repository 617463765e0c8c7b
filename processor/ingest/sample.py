"""Send one signed sample Zendesk webhook (`ticket.created`) to a running ingest.

The ticket is backdated (default 29 minutes: a gold, urgent ticket then has its 75% and 90%
thresholds behind it, so alerts follow within seconds); the signature timestamp is now. The
secret comes from SLA_ZENDESK_SIGNING_SECRET.

    SLA_ZENDESK_SIGNING_SECRET=... python -m processor.ingest.sample --url http://127.0.0.1:8088
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import click

from processor.domain.durations import parse_duration
from processor.ingest.signatures import sign_zendesk

__all__ = ["sample_webhook", "send_sample"]


def sample_webhook(now: datetime, backdate: timedelta, org: str = "900001") -> dict[str, object]:
    """A Zendesk event-webhook body for a new urgent ticket created `backdate` before `now`."""
    created = (now - backdate).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticket = f"demo-{uuid.uuid4().hex[:8]}"
    return {
        "type": "zen:event-type:ticket.created",
        "account_id": 1,
        "id": str(uuid.uuid4()),
        "time": created,
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket}",
        "detail": {
            "id": ticket,
            "created_at": created,
            "priority": "URGENT",
            "status": "NEW",
            "organization_id": org,
            "requester_id": "1",
            "subject": "Checkout is down (sample webhook)",
            "via": {"channel": "web"},
        },
        "event": {},
    }


def send_sample(url: str, secret: str, backdate: timedelta) -> tuple[int, str, str]:
    """POST the sample; returns (HTTP status, ticket id, answer body)."""
    now = datetime.now(UTC)
    payload = sample_webhook(now, backdate)
    body = json.dumps(payload).encode()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    request = urllib.request.Request(
        f"{url.rstrip('/')}/webhooks/zendesk",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": sign_zendesk(secret, stamp, body),
        },
    )
    ticket = f"zendesk:{payload['detail']['id']}"  # type: ignore[index]
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), ticket, response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), ticket, exc.read().decode()


@click.command()
@click.option("--url", default="http://127.0.0.1:8088", show_default=True)
@click.option("--backdate", default="29m", show_default=True, help="Ticket age, e.g. 29m, 2h.")
def main(url: str, backdate: str) -> None:
    """Sign and send one sample Zendesk ticket.created webhook."""
    secret = os.environ.get("SLA_ZENDESK_SIGNING_SECRET")
    if not secret:
        raise click.ClickException("set SLA_ZENDESK_SIGNING_SECRET (the ingest's signing secret)")
    status, ticket, answer = send_sample(url, secret, parse_duration(backdate))
    click.echo(f"{status} {ticket} {answer}")
    if status >= 300:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
