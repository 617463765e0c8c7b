"""`Replayer`'s counters and hooks (processor/replay.py), each counted more than once so that a
counter set instead of incremented shows, and the stamps and tokens `TicketRuntime.on_event`
passes on (found with mutation testing, docs/mutation.md).
Gold P1 tickets (24x7, 30 min) created at T0."""

from __future__ import annotations

from datetime import timedelta

from test_runtime_boundaries import T0, US, Poison, gold, note

from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy
from processor.domain.state import TicketState
from processor.replay import BadLine, Replayer
from processor.runtime import EventTimeWatermarks, Late, MemoryStore, Step, TicketRuntime


def test_every_event_after_until_every_outlier_and_every_failure_is_counted() -> None:
    bad: list[BadLine] = []
    skew = timedelta(minutes=10)
    replayer = Replayer(default_policy(), T0 + timedelta(hours=1), max_skew=skew, on_bad=bad.append)
    for ticket in ("P", "Q"):
        replayer.store.save(0, TicketState(ticket_id=ticket, seen=[Poison("p")]), None)
    replayer.feed(gold("A"), line=1)
    replayer.feed(note("B", T0 + skew + US), line=2)  # more than max_skew ahead: set aside
    replayer.feed(note("C", T0 + timedelta(minutes=1)))  # nothing confirms B: an outlier
    replayer.feed(note("E", T0 + skew + timedelta(minutes=2)), line=3)  # again
    replayer.feed(note("F", T0 + timedelta(minutes=2)))
    replayer.feed(note("P", T0), line=4)  # its stored row breaks: an internal error
    replayer.feed(note("Q", T0))  # the same, fed without a line number: line 0
    for minutes in (61, 62):
        replayer.feed(note("D", T0 + timedelta(minutes=minutes)))  # after --until
    stats = replayer.stats
    assert (stats.after_until, stats.outliers, stats.internal_errors) == (2, 2, 2)
    assert [(b.line, b.reason) for b in bad] == [
        (2, "outlier"),
        (3, "outlier"),
        (4, "internal_error"),
        (0, "internal_error"),
    ]


def test_on_step_sees_every_committed_step_with_its_alerts() -> None:
    steps: list[Step] = []
    replayer = Replayer(default_policy(), T0 + timedelta(minutes=30), on_step=steps.append)
    replayer.feed(gold("A"))
    replayer.feed(note("A", T0 + timedelta(minutes=23)))  # raises the 75% (T0 + 22:30) first
    alerts = replayer.finish()  # up to --until: 90% and the breach
    assert [len(s.alerts) for s in steps] == [0, 1, 2]
    assert steps[-1].alerts == alerts and [a.threshold for a in alerts] == [0.9, 1.0]


def test_alerts_raised_on_a_watermark_move_are_stamped_with_the_given_now() -> None:
    # The live worker passes its wall clock as `now`: A's 75% (T0 + 22:30), raised when B's
    # event moves the watermark to T0 + 23m, carries that now, not the watermark.
    rt = TicketRuntime(SlaMachine(default_policy()), MemoryStore(), EventTimeWatermarks())
    rt.on_event(0, gold("A"))
    rt.commit()
    wall = T0 + timedelta(hours=5)
    step = rt.on_event(0, gold("B", T0 + timedelta(minutes=23)), wall)
    assert [(a.ticket_id, a.threshold, a.emitted_at) for a in step.alerts] == [("A", 0.75, wall)]


def test_a_late_event_raises_its_own_alerts_stamped_with_the_watermark() -> None:
    # The watermark is at T0 + 60m (ticket X). A is created late at T0 (due at the next move);
    # its note at T0 + 25m raises the 75% (T0 + 22:30) first, stamped with the watermark
    # (replay's clock), not with the note's own time.
    rt = TicketRuntime(SlaMachine(default_policy()), MemoryStore(), EventTimeWatermarks())
    rt.on_event(0, gold("X", T0 + timedelta(minutes=60)))
    rt.on_event(0, gold("A"))
    step = rt.on_event(0, note("A", T0 + timedelta(minutes=25)))
    assert [(a.ticket_id, a.threshold, a.emitted_at) for a in step.alerts] == [
        ("A", 0.75, T0 + timedelta(minutes=60))
    ]


def test_an_event_set_aside_without_a_token_is_reported_with_token_0() -> None:
    skew = timedelta(minutes=10)
    rt = TicketRuntime(
        SlaMachine(default_policy()), MemoryStore(), EventTimeWatermarks(max_skew=skew)
    )
    rt.on_event(0, gold("A"))
    rt.on_event(0, note("B", T0 + skew + US))
    step = rt.on_event(0, note("C", T0 + timedelta(minutes=1)))
    assert step.set_aside == [Late(0, T0 + skew + US)]


def test_event_time_watermarks_set_aside_with_token_0_by_default() -> None:
    skew = timedelta(minutes=10)
    marks = EventTimeWatermarks(max_skew=skew)
    marks.observe(0, T0, T0)
    marks.observe(0, T0 + skew + US, T0)  # the candidate outlier, no token given
    seen = marks.observe(0, T0 + timedelta(minutes=1), T0)
    assert seen.set_aside == [Late(0, T0 + skew + US)]
