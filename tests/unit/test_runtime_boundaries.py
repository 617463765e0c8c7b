"""The runtime's parts at their boundaries (docs/mutation.md): the deadline index, both watermark
strategies (lateness, skew, partitions, ticks, late events) and `TicketRuntime`'s steps.

Gold P1 tickets (24x7, 30 min) created at T0 are due 75% at +22:30, 90% at +27, breach at +30.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from sla_helpers import created, ev

from processor.domain.events import Event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy
from processor.domain.state import TicketState
from processor.replay import MAX_PARTITION, BadLine, Replayer, replay_lines
from processor.runtime import (
    DeadlineIndex,
    EventTimeWatermarks,
    Late,
    MemoryStore,
    TicketRuntime,
    TickWatermarks,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
AT_75 = T0 + timedelta(minutes=22, seconds=30)
DEADLINE = T0 + timedelta(minutes=30)
DAY = timedelta(days=1)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def gold(ticket: str, at: datetime = T0) -> Event:
    return created(ticket, iso(at), "gold", 1)


def note(ticket: str, at: datetime) -> Event:
    return ev("agent_responded", ticket, iso(at), public=False)


# -- DeadlineIndex -----------------------------------------------------------------------------


def test_the_index_pops_in_due_order_with_ties_by_ticket_id() -> None:
    index = DeadlineIndex()
    index.schedule(0, "b", T0)
    index.schedule(1, "a", T0)
    index.schedule(0, "c", T0 - US)
    assert len(index) == 3 and index.partitions() == [0, 1]
    order = [index.pop_next([0, 1], T0 + US) for _ in range(4)]
    assert order == [(0, "c"), (1, "a"), (0, "b"), None]
    assert len(index) == 0


def test_the_index_is_exclusive_unless_told_otherwise() -> None:
    index = DeadlineIndex()
    index.schedule(3, "t", T0)
    assert index.pop_next([3], T0) is None and not index.has_due([3], T0)
    assert index.has_due([3], T0, inclusive=True) and index.has_due([3], T0 + US)
    assert index.pop_next([2], T0 + US) is None  # only the partitions asked about
    assert index.pop_next([3], T0, inclusive=True) == (3, "t")
    assert index.scheduled("t") is None and index.next_at(3) is None


def test_rescheduling_replaces_the_instant_and_none_removes_it() -> None:
    index = DeadlineIndex()
    index.schedule(0, "t", T0)
    index.schedule(0, "t", T0)  # the same instant again: still one entry
    index.schedule(0, "t", T0 + DAY)
    assert index.scheduled("t") == T0 + DAY and index.next_at(0) == T0 + DAY
    assert index.pop_next([0], T0 + US) is None  # the stale entry is skipped
    index.schedule(0, "t", T0 - DAY)
    assert index.pop_next([0], T0) == (0, "t")
    assert index.pop_next([0], T0 + 2 * DAY) is None  # popped once, stale ones gone
    index.schedule(0, "u", T0)
    index.schedule(0, "u", None)
    assert len(index) == 0 and index.next_at(0) is None and not index.has_due([0], T0 + DAY)
    index.schedule(5, "v", T0)
    index.clear()
    assert len(index) == 0 and index.partitions() == [] and index.scheduled("v") is None


# -- EventTimeWatermarks -----------------------------------------------------------------------


def test_event_time_watermark_is_the_newest_event_less_the_lateness() -> None:
    marks = EventTimeWatermarks(lateness=timedelta(minutes=5))
    assert marks.watermark(0) is None
    assert marks.observe(0, T0, T0).moved is True
    assert marks.observe(0, T0 - DAY / 2, T0).moved is False  # older: no move
    assert marks.observe(0, T0, T0).moved is False  # the same instant: no move
    assert marks.watermark(0) == T0 - timedelta(minutes=5)
    assert marks.watermark(1) is None  # another partition's events do not judge it
    assert marks.finish() == (T0, [])


def test_a_jump_of_exactly_max_skew_is_accepted_and_one_past_it_is_set_aside() -> None:
    marks = EventTimeWatermarks(max_skew=DAY)
    marks.observe(0, T0, T0)
    assert marks.observe(0, T0 + DAY, T0).moved is True
    assert marks.watermark(0) == T0 + DAY
    far = T0 + 2 * DAY + US
    seen = marks.observe(0, far, T0, token=7)
    assert seen.moved is False and seen.set_aside == [] and marks.watermark(0) == T0 + DAY
    # A normal event next: the lone far one is set aside (reported with its token).
    seen = marks.observe(0, T0 + DAY + US, T0, token=8)
    assert seen.set_aside == [Late(7, far)] and seen.moved is True


def test_the_next_event_within_max_skew_of_the_jump_confirms_it() -> None:
    marks = EventTimeWatermarks(max_skew=DAY)
    marks.observe(0, T0, T0)
    first = T0 + 3 * DAY
    marks.observe(0, first, T0, token=1)
    seen = marks.observe(0, first - DAY, T0, token=2)  # exactly max_skew before it: confirms
    assert seen.moved is True and seen.set_aside == [] and marks.watermark(0) == first
    marks.observe(0, first + 3 * DAY, T0, token=3)
    seen = marks.observe(0, first + 5 * DAY + US, T0, token=4)  # too far from the candidate
    assert seen.moved is False and marks.watermark(0) == first
    assert seen.set_aside == [Late(3, first + 3 * DAY)]  # replaced by the newer lone one
    end, set_aside = marks.finish()
    assert end == first and set_aside == [Late(4, first + 5 * DAY + US)]


def test_a_new_partition_is_judged_against_the_others_for_skew() -> None:
    marks = EventTimeWatermarks(max_skew=DAY)
    marks.observe(0, T0, T0)
    assert marks.observe(1, T0 + DAY, T0).moved is True
    seen = marks.observe(2, T0 + 2 * DAY + US, T0, token=9)
    assert seen.moved is False and marks.watermark(2) is None
    assert marks.finish() == (T0 + DAY, [Late(9, T0 + 2 * DAY + US)])


def test_with_partitions_the_watermark_is_the_minimum_once_all_were_seen() -> None:
    marks = EventTimeWatermarks(partitions=2, lateness=timedelta(minutes=1))
    assert marks.shared is True
    assert marks.observe(0, T0 + DAY / 4, T0).moved is False
    assert marks.watermark(0) is None and marks.watermark(1) is None
    assert marks.observe(1, T0, T0).moved is True
    assert marks.watermark(0) == marks.watermark(7) == T0 - timedelta(minutes=1)
    assert EventTimeWatermarks().shared is False


# -- TickWatermarks ----------------------------------------------------------------------------


def test_a_tick_ahead_of_the_wall_clock_is_clamped_to_it() -> None:
    ticks = TickWatermarks()
    assert ticks.watermark(0) is None
    assert ticks.on_tick(0, T0 + timedelta(hours=1), T0) == T0
    assert ticks.on_tick(0, T0 - US, T0) == T0 - US and ticks.watermark(0) == T0 - US


def test_a_late_event_holds_its_partition_for_exactly_the_window() -> None:
    ticks = TickWatermarks(window=timedelta(seconds=2))
    wall = T0 + DAY
    assert ticks.observe(0, T0, wall).moved is False  # events never move a tick watermark
    ticks.observe(0, T0 - DAY, wall)  # older still: the newest stays T0, the hold is 2 days
    end = wall + timedelta(seconds=2)
    assert ticks.on_tick(0, end - US, end - US) == T0  # held, but not behind the newest read
    assert ticks.on_tick(1, wall, wall) == wall  # another partition is not held
    assert ticks.on_tick(0, end, end) == end  # the window is over
    ticks.forget({1})
    assert ticks.watermark(0) is None and ticks.watermark(1) == wall
    ticks.observe(0, T0 - DAY, wall)  # a forgotten flow starts afresh from this event
    assert ticks.on_tick(0, wall, wall) == T0 - DAY
    ticks.on_tick(2, wall, wall)  # ticks, but no event read on partition 2
    ticks.forget(set())
    assert [ticks.watermark(p) for p in (0, 1, 2)] == [None, None, None]


# -- TicketRuntime -----------------------------------------------------------------------------


def runtime(**marks: object) -> TicketRuntime:
    return TicketRuntime(
        SlaMachine(default_policy()),
        MemoryStore(),
        EventTimeWatermarks(**marks),  # type: ignore[arg-type]
    )


def test_an_event_raises_other_tickets_alerts_strictly_before_its_own_time() -> None:
    rt = runtime()
    rt.on_event(0, gold("A"))
    rt.commit()
    step = rt.on_event(0, gold("B", AT_75))
    assert step.alerts == []  # the watermark is 10:22:30, not past A's 75%
    rt.commit()
    step = rt.on_event(0, gold("C", AT_75 + US))
    assert [(a.ticket_id, a.threshold, a.emitted_at) for a in step.alerts] == [
        ("A", 0.75, AT_75 + US)
    ]
    rt.commit()
    assert rt.index.scheduled("A") == T0 + timedelta(minutes=27)


def test_advance_stops_at_its_limit_and_says_there_is_more() -> None:
    rt = runtime()
    for ticket in ("A", "B", "C"):
        rt.on_event(0, gold(ticket))
    rt.commit()
    step = rt.advance([0], AT_75 + US, limit=2)
    assert [a.ticket_id for a in step.alerts] == ["A", "B"] and step.more is True
    step = rt.advance([0], AT_75 + US, limit=1)
    assert [a.ticket_id for a in step.alerts] == ["C"] and step.more is False
    step = rt.advance([0], DEADLINE, now=T0 + DAY, inclusive=True)
    assert [(a.type, a.emitted_at) for a in step.alerts[-1:]] == [("sla.breached", T0 + DAY)]
    assert len(step.alerts) == 6 and step.more is False


def test_commit_stores_once_and_discard_forgets_the_step() -> None:
    rt = runtime()
    step = rt.on_event(0, gold("A"))
    assert rt.store.load("A") is None and len(step.outcomes) == 1  # type: ignore[attr-defined]
    rt.discard()
    assert rt.index.scheduled("A") is None
    rt.on_event(0, gold("A"))
    rt.commit()
    stored = rt.store.load("A")
    assert stored is not None and stored.phase == "open"
    assert rt.index.scheduled("A") == AT_75
    rt.on_event(0, note("A", AT_75 + US))
    rt.discard()  # the stored state's next instant stands in the index
    assert rt.index.scheduled("A") is not None


def test_finish_with_until_is_inclusive_and_without_is_exclusive() -> None:
    for until, count in ((None, 0), (AT_75, 1)):
        rt = runtime()
        rt.on_event(0, gold("A"))
        rt.on_event(0, note("B", AT_75))
        rt.commit()
        step = rt.finish(until)
        assert [a.threshold for a in step.alerts] == [0.75][:count]


def test_a_deleted_ticket_is_forgotten_by_the_store_and_the_index() -> None:
    rt = runtime()
    rt.on_event(0, gold("A"))
    rt.on_event(0, ev("agent_responded", "A", iso(T0 + US)))
    rt.commit()
    horizon = T0 + US + timedelta(days=30)
    assert rt.index.scheduled("A") == horizon
    step = rt.advance([0], horizon + US)
    assert [o.delete for o in step.outcomes] == [True]
    rt.commit()
    assert rt.store.load("A") is None and rt.index.scheduled("A") is None


def test_rebuild_rederives_the_index_and_counts_the_entries() -> None:
    rt = runtime()
    rt.index.schedule(0, "old", T0)
    assert rt.rebuild([(1, "A", AT_75), (2, "B", None)]) == 2
    assert rt.index.scheduled("old") is None and rt.index.scheduled("A") == AT_75
    assert rt.index.scheduled("B") is None


def test_a_duplicate_is_an_outcome_but_no_change() -> None:
    rt = runtime()
    event = gold("A")
    rt.on_event(0, event)
    rt.commit()
    step = rt.on_event(0, event)
    assert [o.duplicate for o in step.outcomes] == [True] and step.alerts == []
    assert rt.index.scheduled("A") == AT_75


def broken(ticket: str, sent: list[tuple[str, float]]) -> TicketState:
    """An open state the core cannot handle (no deadline), due at 75% = AT_75."""
    return TicketState(
        ticket_id=ticket,
        phase="open",
        tier="gold",
        priority=1,
        created_at=T0,
        thresholds=[(0.75, AT_75)],
        sent=sent,
    )


def test_a_ticket_the_core_cannot_handle_is_reported_and_the_others_go_on() -> None:
    rt = runtime()
    rt.on_event(0, gold("A"))
    rt.commit()
    rt.store.save(0, broken("BAD", []), AT_75)
    rt.index.schedule(0, "BAD", AT_75)
    step = rt.on_event(0, note("BAD", AT_75 + US))
    # The move of the watermark raises A's 75% and fails on BAD; BAD's own event fails too.
    assert [a.ticket_id for a in step.alerts] == ["A"]
    assert [(t, type(e)) for t, e in step.failures] == [("BAD", AssertionError)] * 2
    assert rt.index.scheduled("BAD") == AT_75  # back to what its stored state says
    rt.commit()
    assert rt.index.scheduled("A") == T0 + timedelta(minutes=27)


def test_a_stored_state_whose_next_instant_cannot_be_read_is_unscheduled() -> None:
    rt = runtime()
    rt.store.save(0, broken("BAD", [("2026-03-02T10:30:00Z", 0.75)]), AT_75)
    rt.index.schedule(0, "BAD", AT_75)
    step = rt.on_event(0, note("BAD", T0))
    assert [t for t, _ in step.failures] == ["BAD"] and rt.index.scheduled("BAD") is None


class CopyStore(MemoryStore):
    """Rows, not live objects, as the worker's ticket table keeps them: a load is a copy."""

    def load(self, ticket_id: str) -> TicketState | None:
        state = self.states.get(ticket_id)
        return None if state is None else TicketState.from_dict(state.to_dict())

    def save(self, partition: int, state: TicketState, next_due: datetime | None) -> None:
        self.states[state.ticket_id] = TicketState.from_dict(state.to_dict())


def test_discard_puts_the_index_back_on_the_stored_state_of_its_partition() -> None:
    rt = TicketRuntime(SlaMachine(default_policy()), CopyStore(), EventTimeWatermarks())
    rt.on_event(3, gold("A"))
    rt.commit()
    step = rt.on_event(3, note("A", AT_75 + US))
    assert [a.threshold for a in step.alerts] == [0.75]
    rt.discard()  # not published: A is due at 75% again, on its partition
    assert rt.index.scheduled("A") == AT_75
    assert [a.threshold for a in rt.advance([3], AT_75 + US).alerts] == [0.75]
    rt.on_event(3, gold("B"))
    rt.discard()
    rt.commit()  # nothing of the discarded step is stored
    assert rt.store.load("B") is None and rt.index.scheduled("B") is None


class Poison(str):
    """An event id that breaks every comparison, as a corrupt stored row might."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("x" * 400)

    __hash__ = str.__hash__


def test_replay_reports_an_internal_error_in_one_line_cut_at_300_characters() -> None:
    bad: list[BadLine] = []
    replayer = Replayer(default_policy(), on_bad=bad.append)
    replayer.store.save(0, TicketState(ticket_id="BAD", seen=[Poison("p")]), None)
    lines = [
        created("BAD", iso(T0), "gold", 1).model_dump_json().encode(),
        gold("OK").model_dump_json().encode(),
    ]
    alerts = list(replay_lines(lines, replayer))
    assert [a.ticket_id for a in alerts] == []  # OK raises nothing before its 75%
    described = ("ValueError: " + "x" * 400)[:300] + "..."
    assert bad == [BadLine(1, "internal_error", f"ticket 'BAD': {described}")]
    assert replayer.stats.internal_errors == 1 and replayer.stats.events == 2


def test_advance_is_exclusive_by_default() -> None:
    rt = runtime()
    rt.on_event(0, gold("A"))
    rt.commit()
    assert rt.advance([0], AT_75).alerts == []
    assert [a.threshold for a in rt.advance([0], AT_75, inclusive=True).alerts] == [0.75]


def test_replay_lines_counts_lines_and_bad_ones_past_blank_lines() -> None:
    mine: list[BadLine] = []
    other: list[BadLine] = []
    replayer = Replayer(default_policy(), on_bad=mine.append)
    body = json.loads(gold("A").model_dump_json())
    top = json.dumps({**body, "event_id": "a-2", "partition": MAX_PARTITION - 1}).encode()
    lines = [
        b"not json",
        b"   ",
        json.dumps({**body, "partition": MAX_PARTITION}).encode(),
        top,
        b"",
    ]
    list(replay_lines(lines, replayer, on_bad=other.append))  # the replayer's own sink wins
    assert other == [] and [(b.line, b.reason) for b in mine] == [
        (1, "not_json"),
        (3, "invalid_field"),
    ]
    assert mine[1].message == "partition: must be a whole number >= 0"
    stats = replayer.stats
    assert (stats.lines, stats.invalid, stats.events) == (5, 2, 1)


def test_replay_counts_duplicates_late_lines_outliers_and_alerts() -> None:
    bad: list[BadLine] = []
    until = datetime(2026, 3, 2, 12, 11, tzinfo=timezone(timedelta(hours=2)))  # 10:11Z
    skew = timedelta(minutes=10)
    replayer = Replayer(default_policy(), until, max_skew=skew, on_bad=bad.append)
    assert replayer.until == T0 + timedelta(minutes=11) and replayer.until.tzinfo is UTC
    first = gold("A").model_dump_json().encode()
    far = T0 + skew + US
    lines = [
        first,
        first,  # a duplicate
        gold("Z", T0 - timedelta(minutes=25)).model_dump_json().encode(),  # due 09:57:30 .. 10:05
        note("B", far).model_dump_json().encode(),  # more than max_skew ahead: set aside
        note("C", T0 + timedelta(minutes=1)).model_dump_json().encode(),
        note("D", replayer.until).model_dump_json().encode(),  # exactly at --until: applied
        note("E", replayer.until + US).model_dump_json().encode(),  # after --until
    ]
    alerts = list(replay_lines(lines, replayer))
    assert [(a.ticket_id, a.type, a.threshold) for a in alerts] == [
        ("Z", "sla.near_breach", 0.75),
        ("Z", "sla.near_breach", 0.9),
        ("Z", "sla.breached", 1.0),
    ]
    stats = replayer.stats
    assert (stats.events, stats.duplicates, stats.after_until, stats.outliers) == (6, 1, 1, 1)
    assert stats.alerts == {"sla.near_breach": 2, "sla.breached": 1}
    assert stats.internal_errors == 0
    assert bad == [
        BadLine(
            4,
            "outlier",
            f"occurred_at {iso(far)} is more than 0:10:00 ahead of the rest and no later "
            "event confirms it; applied to its own ticket, the watermark ignores it",
        )
    ]


def test_the_index_looks_past_an_empty_partition_and_keeps_the_first_of_equal_heads() -> None:
    index = DeadlineIndex()
    index.schedule(1, "a", T0)
    assert index.pop_next([0, 1], T0 + US) == (1, "a")  # partition 0 has nothing
    # A ticket rescheduled onto another partition at its old instant: both heads read (T0, t);
    # the first partition asked wins, and the entry is popped once.
    index.schedule(0, "t", T0)
    index.schedule(0, "t", T0 + DAY)
    index.schedule(1, "t", T0)
    assert index.pop_next([0, 1], T0 + US) == (0, "t")
    assert index.pop_next([0, 1], T0 + 2 * DAY) is None


def test_discard_of_one_partition_keeps_the_other_partitions_changes() -> None:
    rt = TicketRuntime(SlaMachine(default_policy()), CopyStore(), EventTimeWatermarks())
    rt.on_event(1, gold("A"))
    rt.on_event(2, gold("B"))
    rt.discard(1)  # only partition 1's change is forgotten
    assert rt.index.scheduled("A") is None and rt.index.scheduled("B") == AT_75
    rt.commit()
    assert rt.store.load("A") is None and rt.store.load("B") is not None
    rt.on_event(1, gold("C"))
    rt.discard()  # no partition: every change
    rt.commit()
    assert rt.store.load("C") is None
