"""Callback rules on plain values: open on a missed inbound call, one per number, close on an
answer (not one before the miss), owner, and the texts the tasks carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cti.crm_store.rules.callbacks import (
    FinishedCall,
    answered_since,
    close_reason,
    closes_callbacks,
    new_callback,
    noted,
    open_callback,
    opens_callback,
    owner,
    to_close,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IVAN = "+74951234567"


def call(status: str = "missed", direction: str = "inbound", **kw: object) -> FinishedCall:
    fields: dict[str, object] = {
        "pbx": "lab",
        "linkedid": "1.1",
        "direction": direction,
        "status": status,
        "number": IVAN,
        "from_name": "Ivan Petrov",
        "queue": "support",
        "agents_rung": ("201", "202"),
        "started_at": T0,
        "ended_at": T0 + timedelta(seconds=30),
    }
    return FinishedCall(**(fields | kw))  # type: ignore[arg-type]


@dataclass
class Cb:
    done: bool = False
    missed_at: datetime | None = T0
    queue: str | None = None


@pytest.mark.parametrize(
    ("status", "direction", "number", "opens"),
    [
        ("missed", "inbound", IVAN, True),
        ("abandoned", "inbound", IVAN, True),
        ("answered", "inbound", IVAN, False),
        ("busy", "inbound", IVAN, False),
        ("missed", "internal", IVAN, False),
        ("no-answer", "outbound", IVAN, False),
        ("missed", "inbound", None, False),
    ],
)
def test_only_an_unanswered_inbound_call_from_outside_opens_a_callback(
    status: str, direction: str, number: str | None, opens: bool
) -> None:
    assert opens_callback(call(status, direction, number=number)) is opens


def test_any_answered_call_with_a_number_closes_callbacks() -> None:
    assert closes_callbacks(call("answered"))
    assert closes_callbacks(call("answered", "outbound"))
    assert not closes_callbacks(call("answered", number=None))
    assert not closes_callbacks(call("missed"))


def test_a_miss_answered_since_opens_nothing() -> None:
    assert call().missed_at == T0
    assert call(started_at=None).missed_at == T0 + timedelta(seconds=30)
    later, earlier = T0 + timedelta(hours=1), T0 - timedelta(hours=1)
    assert answered_since(T0, [None, later])
    assert not answered_since(T0, [earlier, T0, None])
    assert not answered_since(None, [later])
    naive_later = datetime(2026, 3, 2, 11, 0)  # SQLite hands back naive UTC
    assert answered_since(T0, [naive_later])


def test_one_open_callback_per_number_and_queue_the_oldest_open_one() -> None:
    assert open_callback([], None) is None
    assert open_callback([Cb(done=True), Cb(), Cb()], None) == 1
    assert open_callback([Cb(done=True)], None) is None
    mixed = [Cb(queue="sales"), Cb(queue=None), Cb(queue="support"), Cb(queue="support")]
    assert open_callback(mixed, "support") == 2
    assert open_callback(mixed, None) == 1
    assert open_callback(mixed, "billing") is None


def test_an_answer_closes_the_open_callbacks_missed_before_it() -> None:
    answer = call("answered", started_at=T0 + timedelta(minutes=10))
    callbacks = [
        Cb(),  # missed before: closed
        Cb(done=True),  # closed already
        Cb(missed_at=T0 + timedelta(minutes=20)),  # missed after the answer: stays open
        Cb(missed_at=None),  # unknown time: closed
    ]
    assert to_close(answer, callbacks) == [0, 3]
    assert to_close(call("answered", started_at=None), callbacks) == [0, 2, 3]


def test_the_callback_belongs_to_the_single_rung_user_else_to_the_queue() -> None:
    assert owner([7, None, 7], "support") == (7, "support")
    assert owner([7, 8], "support") == (None, "support")
    assert owner([None], None) == (None, None)
    assert owner([], "support") == (None, "support")


def test_a_new_callback_names_the_caller_the_call_and_who_it_rang() -> None:
    new = new_callback(call(), (7, "support"), tail_digits=7, now=T0)
    assert new.title == "Call back Ivan Petrov (+74951234567)"
    assert new.description == "missed call lab/1.1; queue support; rung: 201, 202"
    assert (new.assignee_id, new.queue, new.phone, new.phone_tail) == (
        7,
        "support",
        IVAN,
        "1234567",
    )
    assert new.due_at == T0 + timedelta(seconds=30)  # due when the call ended
    bare = new_callback(
        call(from_name=None, queue=None, agents_rung=(), ended_at=None),
        (None, None),
        tail_digits=4,
        now=T0,
    )
    assert bare.title == f"Call back {IVAN}" and bare.phone_tail == "4567"
    assert bare.description.endswith("queue -; rung: nobody") and bare.due_at == T0


def test_a_further_miss_is_noted_and_the_closing_call_named() -> None:
    assert noted("missed call lab/1.1", call(linkedid="1.2")) == (
        "missed call lab/1.1\nagain: missed call lab/1.2"
    )
    assert noted("", call("abandoned")) == "again: abandoned call lab/1.1"
    assert close_reason(call("answered", "outbound", linkedid="5.2")) == (
        "answered outbound call lab/5.2"
    )
