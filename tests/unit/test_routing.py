"""The ticket table the service writes, as `Interop.watched` wraps it: a deleted row tells the
watch which partition the ticket's state left (read from the row itself)."""

from __future__ import annotations

from processor.domain.state import TicketState
from processor.worker.routing import _Forgetful
from processor.worker.rows import encode_row


def test_a_deleted_row_is_forgotten_with_its_partition() -> None:
    table: dict[str, bytes] = {}
    forgotten: list[tuple[str, int]] = []
    watched = _Forgetful(table, lambda ticket, partition: forgotten.append((ticket, partition)))
    row = encode_row(3, None, None, TicketState(ticket_id="T-1"))
    watched["T-1"] = row
    assert watched.get("T-1") == row and table["T-1"] == row
    assert watched.pop("T-2", b"none") == b"none"
    assert forgotten == []
    assert watched.pop("T-1") == row
    assert forgotten == [("T-1", 3)]
    assert "T-1" not in table
