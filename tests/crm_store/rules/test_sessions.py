"""Agent session rules: which intervals a queue member event, a device change or a page
state opens and closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti.crm_store.rules.sessions import (
    DEVICE,
    End,
    OpenSession,
    Start,
    device_ops,
    member_ops,
    page_ops,
)

T = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def login(n: int = 1, queue: str = "sales") -> OpenSession:
    return OpenSession(n, queue, "login", None, T)


def pause(n: int = 2, reason: str | None = "lunch", queue: str = "sales") -> OpenSession:
    return OpenSession(n, queue, "pause", reason, T)


def test_added_opens_a_login() -> None:
    ops = member_ops([], queue="sales", change="added", paused=False, reason=None, at=T)
    assert ops == [Start("sales", "login", None, T)]


def test_a_member_never_seen_added_is_logged_in_from_its_first_event() -> None:
    ops = member_ops([], queue="sales", change="status", paused=True, reason="break", at=T)
    assert ops == [Start("sales", "login", None, T), Start("sales", "pause", "break", T)]


def test_removed_ends_login_and_pause_of_that_queue_only() -> None:
    other = login(3, "support")
    ops = member_ops(
        [login(), pause(), other], queue="sales", change="removed", paused=False, reason=None, at=T
    )
    assert ops == [End(1, T), End(2, T)]


def test_unpause_ends_the_pause() -> None:
    ops = member_ops(
        [login(), pause()], queue="sales", change="unpaused", paused=False, reason=None, at=T
    )
    assert ops == [End(2, T)]


def test_a_new_reason_is_a_new_pause_and_a_status_without_reason_keeps_it() -> None:
    later = T + timedelta(minutes=5)
    ops = member_ops(
        [login(), pause()], queue="sales", change="paused", paused=True, reason="training", at=later
    )
    assert ops == [End(2, later), Start("sales", "pause", "training", later)]
    assert (
        member_ops(
            [login(), pause()], queue="sales", change="status", paused=True, reason=None, at=later
        )
        == []
    )
    assert (
        member_ops(
            [login(), pause()],
            queue="sales",
            change="paused",
            paused=True,
            reason="lunch",
            at=later,
        )
        == []
    )


def test_a_paused_member_without_reason_is_paused_for_the_default_reason() -> None:
    ops = member_ops([login()], queue="sales", change="paused", paused=True, reason=None, at=T)
    assert ops == [Start("sales", "pause", "paused", T)]


def test_a_call_ending_on_the_phone_starts_a_wrap_up_of_the_configured_length() -> None:
    ops = device_ops([], before="INUSE", state="NOT_INUSE", at=T, wrap_up_seconds=30)
    assert ops == [Start(DEVICE, "wrap-up", None, T, T + timedelta(seconds=30))]
    assert device_ops([], before="INUSE", state="NOT_INUSE", at=T, wrap_up_seconds=0) == []
    assert device_ops([], before="RINGING", state="NOT_INUSE", at=T, wrap_up_seconds=30) == []


def test_the_next_ring_ends_a_wrap_up_early() -> None:
    wrap = OpenSession(7, DEVICE, "wrap-up", None, T, T + timedelta(seconds=30))
    at = T + timedelta(seconds=10)
    assert device_ops([wrap], before="NOT_INUSE", state="RINGING", at=at, wrap_up_seconds=30) == [
        End(7, at)
    ]
    # past its planned end it is over already: nothing to end
    late = T + timedelta(seconds=40)
    assert device_ops([wrap], before="NOT_INUSE", state="INUSE", at=late, wrap_up_seconds=30) == []


def test_page_states_become_login_pause_and_wrap_up() -> None:
    q = "campaign:4"
    assert page_ops([], queue=q, state="free", reason=None, at=T) == [Start(q, "login", None, T)]
    lg = login(1, q)
    assert page_ops([lg], queue=q, state="paused", reason="lunch", at=T) == [
        Start(q, "pause", "lunch", T)
    ]
    assert page_ops([lg], queue=q, state="wrap-up", reason=None, at=T) == [
        Start(q, "wrap-up", None, T)
    ]
    wrap = OpenSession(5, q, "wrap-up", None, T)
    assert page_ops([lg, wrap], queue=q, state="free", reason=None, at=T) == [End(5, T)]
    assert page_ops([lg, wrap], queue=q, state="logged-out", reason=None, at=T) == [
        End(1, T),
        End(5, T),
    ]
