"""`POST /events`: events already in the input-topic form, one JSON object or an array of them.

The whole request is stored or none of it: every element is validated before any is produced.
"""

from __future__ import annotations

from processor.ingest.common import Mapped, Unmappable

__all__ = ["MAX_BATCH", "map_plain"]

MAX_BATCH = 1000


def map_plain(payload: object) -> Mapped:
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise Unmappable(422, "empty", "", "no events in the array")
    if len(items) > MAX_BATCH:
        raise Unmappable(413, "too_many", "", f"at most {MAX_BATCH} events per request")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Unmappable(400, "not_object", f"{index}", "each event must be a JSON object")
    return Mapped([dict(item) for item in items if isinstance(item, dict)])
