"""Fixtures built from the vendors' documented payloads (each file names its doc page) map to
exactly the expected events, and every produced event is valid for the core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from processor.domain.events import parse_event
from processor.ingest.common import CustomerPolicy, Mapped, Unmappable
from processor.ingest.directory import CustomerDirectory
from processor.ingest.jira import map_jira
from processor.ingest.mapping import load_mapping
from processor.ingest.zendesk import map_zendesk

REPO = Path(__file__).resolve().parents[2]
FIXTURES = sorted((REPO / "tests/fixtures/ingest").glob("*.json"))
MAPPING = load_mapping()
DIRECTORY = CustomerDirectory(REPO / "examples/customers.yaml")
DEFAULT = CustomerPolicy("default", "basic")


def adapt(name: str, payload: object, policy: CustomerPolicy = DEFAULT) -> Mapped:
    if name.startswith("zendesk"):
        return map_zendesk(payload, MAPPING.zendesk, DIRECTORY, policy)
    return map_jira(payload, MAPPING, DIRECTORY, policy)


def load(name: str) -> dict[str, Any]:
    return json.loads((REPO / "tests/fixtures/ingest" / name).read_text())


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_maps_to_the_expected_events(path: Path) -> None:
    fixture = json.loads(path.read_text())
    assert fixture["source"].startswith("https://developer."), "cite the vendor's doc page"
    mapped = adapt(path.name, fixture["payload"])
    if "ignored" in fixture:
        assert mapped == Mapped([], ignored=fixture["ignored"])
        return
    events = [{k: v for k, v in e.items() if v is not None} for e in mapped.events]
    assert events == fixture["expected"]
    for event in events:
        parsed = parse_event(json.dumps(event))
        assert parsed.event_id == event["event_id"]


def test_there_is_a_fixture_for_every_used_webhook_type() -> None:
    names = {p.stem for p in FIXTURES}
    for stem in (
        "zendesk_ticket_created",
        "zendesk_comment_agent_public",
        "zendesk_comment_requester",
        "zendesk_comment_agent_private_note",
        "zendesk_priority_changed",
        "zendesk_status_changed",
        "jira_issue_created",
        "jira_issue_updated_changelog",
        "jira_comment_agent_public",
        "jira_comment_customer",
    ):
        assert stem in names


def test_jira_offsets_without_colon_become_rfc3339_utc() -> None:
    event = adapt("jira", load("jira_comment_agent_internal.json")["payload"]).events[0]
    assert event["occurred_at"] == "2025-01-08T18:11:40Z"  # 13:11:40-0500


def test_changelog_with_several_items_gives_distinct_event_ids() -> None:
    events = adapt("jira", load("jira_issue_updated_changelog.json")["payload"]).events
    assert len({e["event_id"] for e in events}) == len(events) == 2


@pytest.mark.parametrize("spelling", ["Urgent", "URGENT", "urgent", " urgent "])
def test_zendesk_priorities_map_case_insensitively(spelling: str) -> None:
    payload = load("zendesk_priority_changed.json")["payload"]
    payload["event"]["current"] = spelling
    assert adapt("zendesk", payload).events[0]["priority"] == 1


def test_zendesk_status_open_as_in_zendesks_examples() -> None:
    payload = load("zendesk_status_changed.json")["payload"]
    payload["event"]["current"] = "Open"
    assert adapt("zendesk", payload).events[0]["status"] == "open"


def test_ticket_without_priority_gets_the_configured_default() -> None:
    payload = load("zendesk_ticket_created.json")["payload"]
    payload["detail"]["priority"] = None
    event = adapt("zendesk", payload).events[0]
    assert event["priority"] == MAPPING.zendesk.default_priority == 3


def test_unknown_customer_gets_the_default_tier_or_is_rejected() -> None:
    payload = load("zendesk_ticket_created.json")["payload"]
    payload["detail"]["organization_id"] = None
    payload["detail"]["requester_id"] = "777"
    event = adapt("zendesk", payload).events[0]
    assert (event["customer_id"], event["tier"], event["timezone"]) == (
        "zendesk:user:777",
        "basic",
        "UTC",
    )
    with pytest.raises(Unmappable) as err:
        adapt("zendesk", payload, CustomerPolicy("reject", "basic"))
    assert (err.value.status, err.value.reason) == (422, "unknown_customer")


def test_requester_is_looked_up_when_the_organization_is_unknown() -> None:
    payload = load("zendesk_ticket_created.json")["payload"]
    payload["detail"]["organization_id"] = "424242"
    payload["detail"]["requester_id"] = "8447388090222"
    event = adapt("zendesk", payload).events[0]
    assert (event["customer_id"], event["tier"], event["country"]) == (
        "zendesk:user:8447388090222",
        "basic",
        "JP",
    )


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda p: p["detail"].pop("id"), "detail.id"),
        (lambda p: p.update(time="yesterday"), "time"),
        (lambda p: p.update(time="2025-01-08T10:12:07"), "time"),
        (lambda p: p["detail"].update(priority="P0"), "detail.priority"),
        (lambda p: p["detail"].update(priority=3), "detail.priority"),
    ],
)
def test_unmappable_zendesk_payload_names_the_field(mutate: Any, where: str) -> None:
    payload = load("zendesk_ticket_created.json")["payload"]
    mutate(payload)
    with pytest.raises(Unmappable) as err:
        adapt("zendesk", payload)
    assert err.value.where == where and err.value.status == 422


def test_unknown_jira_status_is_422_naming_the_item() -> None:
    payload = load("jira_issue_updated_changelog.json")["payload"]
    payload["changelog"]["items"][2]["toString"] = "Frobnicated"
    with pytest.raises(Unmappable) as err:
        adapt("jira", payload)
    assert err.value.where == "changelog.items.2.toString"


@pytest.mark.parametrize("field", [["status"], {"id": "status"}, 7, None])
def test_a_jira_changelog_item_whose_field_is_not_a_string_is_ignored(field: Any) -> None:
    """A hostile body put a list in `fieldId` (CI: a 500, TypeError: unhashable type): an item
    whose field is not a string names no field we use."""
    payload = load("jira_issue_updated_changelog.json")["payload"]
    for item in payload["changelog"]["items"]:
        item["fieldId"], item["field"] = field, field
    assert adapt("jira", payload).ignored == "no_used_change"


def test_jira_comment_by_the_reporter_is_a_customer_reply_and_app_comments_are_ignored() -> None:
    payload = load("jira_comment_agent_public.json")["payload"]
    payload["issue"]["fields"]["reporter"] = payload["comment"]["author"]
    assert adapt("jira", payload).events[0]["type"] == "ticket.customer_replied"
    payload["comment"]["author"] = {"accountId": "bot", "accountType": "app"}
    assert adapt("jira", payload).ignored == "automation_comment"


def test_jira_comment_without_jsdpublic_is_public() -> None:
    payload = load("jira_comment_agent_public.json")["payload"]
    del payload["comment"]["jsdPublic"]
    assert adapt("jira", payload).events[0]["public"] is True


def test_unused_types_are_ignored_not_errors() -> None:
    assert adapt("zendesk", {"type": "zen:event-type:user.created"}).ignored == "unused_type"
    assert adapt("jira", {"webhookEvent": "worklog_created"}).ignored == "unused_type"
