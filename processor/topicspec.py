"""Topic specifications and wire-format JSON Schemas.

The specs here are the source of truth; `topics/topics.json` and `topics/schemas/*.json` are
generated from them and from the pydantic models (`python -m processor.topicspec`), and a
unit test fails when the committed files drift from the code.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from processor.domain.alerts import Alert
from processor.domain.events import Event
from processor.settings import Settings

__all__ = ["TABLE_NAME", "TopicSpec", "changelog_topic", "generated_files", "topic_specs"]

TABLE_NAME = "tickets"
"""The worker's faust table; faust names its changelog topic `<app_id>-<table>-changelog`."""

_DAY_MS = 24 * 3600 * 1000
_MAX_MESSAGE = 4 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    """One Kafka topic the processor reads or writes."""

    name: str
    role: str
    key: str
    value: str
    partitions: int
    cleanup_policy: str
    retention_ms: int
    configs: dict[str, str] = field(default_factory=dict)

    def kafka_configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            **self.configs,
        }


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics for these settings (names and partitions come from the settings)."""
    big = {"max.message.bytes": str(_MAX_MESSAGE)}
    return [
        TopicSpec(
            settings.events_topic,
            "input: helpdesk events; also carries the worker's ticks",
            "ticket_id",
            "schemas/ticket-event.schema.json",
            settings.partitions,
            "delete",
            14 * _DAY_MS,
            big,
        ),
        TopicSpec(
            settings.alerts_topic,
            "output: near-breach, breach and resolved alerts",
            "ticket_id",
            "schemas/alert.schema.json",
            settings.partitions,
            "delete",
            14 * _DAY_MS,
        ),
        TopicSpec(
            settings.dlq_topic,
            "output: invalid input, original bytes, reason in headers",
            "original key",
            "original bytes",
            1,
            "delete",
            30 * _DAY_MS,
            big,
        ),
    ]


def changelog_topic(settings: Settings) -> str:
    """The ticket table's changelog topic (created by faust when the worker starts)."""
    return f"{settings.app_id}-{TABLE_NAME}-changelog"


def generated_files() -> dict[str, str]:
    """Relative path under `topics/` -> content, for the default settings."""
    specs = [asdict(s) for s in topic_specs(Settings.model_construct())]  # defaults, not env
    return {
        "topics.json": _dump({"topics": specs}),
        "schemas/ticket-event.schema.json": _dump(TypeAdapter(Event).json_schema()),
        "schemas/alert.schema.json": _dump(Alert.model_json_schema()),
    }


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the generated files under the folder given (default `topics`)."""
    root = Path(argv[0]) if argv else Path("topics")
    for rel, text in generated_files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
