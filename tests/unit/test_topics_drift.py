"""`topics/` is generated from the code: this fails when the committed files drift from it."""

from __future__ import annotations

from pathlib import Path

from processor.topicspec import generated_files

TOPICS = Path(__file__).resolve().parents[2] / "topics"


def test_committed_topic_specs_and_schemas_match_the_code() -> None:
    for rel, text in generated_files().items():
        path = TOPICS / rel
        assert path.exists(), f"{path} is missing: run `python -m processor.topicspec`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} differs from the models: run `python -m processor.topicspec` and commit"
        )


def test_event_schema_is_discriminated_on_type_and_names_every_event() -> None:
    schema = (TOPICS / "schemas/ticket-event.schema.json").read_text()
    for kind in (
        "ticket.created",
        "ticket.agent_responded",
        "ticket.customer_replied",
        "ticket.priority_changed",
        "ticket.status_changed",
    ):
        assert kind in schema
    assert '"propertyName": "type"' in schema
