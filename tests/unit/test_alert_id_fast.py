"""The hand-rolled UUIDv5 of alert ids equals `uuid.uuid5` (ids must never change)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

from processor.domain.alerts import _NAMESPACE, _uuid5, alert_id, format_instant


def test_uuid5_matches_the_standard_library() -> None:
    rng = random.Random(7)
    names = ["", "T-1\x1ffirst_response\x1fresolved", "é ü 中文"]
    names += [
        "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(60)))
        for _ in range(500)
    ]
    for name in names:
        assert _uuid5(name) == str(uuid.uuid5(_NAMESPACE, name))


def test_alert_id_is_stable() -> None:
    deadline = datetime(2026, 3, 9, 16, 2, tzinfo=UTC)
    assert alert_id("T-100", "first_response", deadline, 0.75) == str(
        uuid.uuid5(_NAMESPACE, "T-100\x1ffirst_response\x1f2026-03-09T16:02:00Z\x1f0.7500")
    )


def test_format_instant_same_for_any_offset() -> None:
    at = datetime(2026, 3, 9, 16, 2, 0, 5, tzinfo=UTC)
    for hours in (-5, 0, 3):
        local = at.astimezone(timezone(timedelta(hours=hours)))
        assert format_instant(local) == "2026-03-09T16:02:00.000005Z"
    assert format_instant(at.replace(microsecond=0)) == "2026-03-09T16:02:00Z"
