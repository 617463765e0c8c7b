"""`Replayer`'s counters and hooks (processor/replay.py), each counted more than once so that a
counter set instead of incremented shows (found with mutation testing, docs/mutation.md).
Gold P1 tickets (24x7, 30 min) created at T0."""

from __future__ import annotations

from datetime import timedelta

from test_runtime_boundaries import T0, US, Poison, gold, note

from processor.domain.policy import default_policy
from processor.domain.state import TicketState
from processor.replay import BadLine, Replayer
from processor.runtime import Step


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
