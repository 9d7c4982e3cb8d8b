"""Outcomes: every way an Originate can fail, answered calls (agent, abandon, machine), and
what each outcome or disposition does to the lead: retry when, or close why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest

from cti.crm_store.models.campaigns import ATTEMPT_OUTCOMES
from cti.dialer.campaign_file import CampaignSpec, parse_campaign
from cti.dialer.outcomes import (
    ABANDON_HOLD,
    CallResult,
    Close,
    Outcome,
    Retry,
    next_step,
    outcome_of_call,
    outcome_of_originate_failure,
)
from cti.errors import ValidationError

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "name": "spring",
    "caller_id": "+74951234567",
    "route": "PJSIP/{number}@trunk",
    "max_attempts": 3,
}


def spec(**changes: Any) -> CampaignSpec:
    return parse_campaign({**BASE, **changes}, "spring.yaml")


def test_the_outcomes_are_the_ones_an_attempt_row_stores() -> None:
    assert get_args(Outcome) == ATTEMPT_OUTCOMES


# --- Originate failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "cause", "expected"),
    [
        # as Asterisk 22 reports them (recorded traces): busy, rang until the timeout
        (5, 17, "busy"),
        (3, 19, "no-answer"),
        # the Reason alone
        (0, None, "failed"),  # no channel at all: nothing else tells of it
        (1, None, "no-answer"),
        (3, None, "no-answer"),
        (5, None, "busy"),
        (8, None, "congestion"),
        ("8", None, "congestion"),  # AMI fields come as text
        (" 5 ", None, "busy"),
        (99, None, "failed"),
        ("Failure", None, "failed"),
        (None, None, "failed"),
        # a cause that says more wins over the Reason
        (0, 1, "invalid"),  # unallocated number
        (1, 3, "invalid"),  # no route to destination
        (8, 28, "invalid"),  # invalid number format
        (1, 22, "invalid"),  # number changed
        (0, 17, "busy"),
        (1, 18, "no-answer"),
        (1, 20, "no-answer"),  # mobile switched off
        (1, 21, "no-answer"),  # declined
        (0, 34, "congestion"),
        (0, 38, "congestion"),
        (1, 41, "congestion"),
        (0, 42, "congestion"),
        (0, 27, "failed"),
        # causes that say nothing leave it to the Reason
        (5, 16, "busy"),
        (3, 0, "no-answer"),
        (8, 31, "congestion"),
        (0, 16, "failed"),
    ],
)
def test_originate_failures(reason: int | str | None, cause: int | None, expected: str) -> None:
    assert outcome_of_originate_failure(reason, cause) == expected


@pytest.mark.parametrize("reason", [4, "4"])
def test_an_answered_originate_is_not_a_failure(reason: int | str) -> None:
    with pytest.raises(ValueError, match="Reason 4"):
        outcome_of_originate_failure(reason, None)


# --- answered calls ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "amd", "expected"),
    [
        (0.5, None, CallResult("answered", live=True)),
        (2.0, None, CallResult("answered", live=True)),  # the limit itself is in time
        (2.01, None, CallResult("abandoned", live=True)),  # an agent came, too late
        (None, None, CallResult("abandoned", live=True)),  # nobody came
        (None, "HUMAN", CallResult("abandoned", live=True)),
        (1.0, "HUMAN", CallResult("answered", live=True)),
        (1.0, "NOTSURE", CallResult("answered", live=True)),
        (None, "NOTSURE", CallResult("abandoned", live=True)),
        (None, "HANGUP", CallResult("abandoned", live=True)),  # hung up during detection
        (None, "MACHINE", CallResult("machine", live=False)),
        (None, "machine", CallResult("machine", live=False)),
        (1.0, "MACHINE", CallResult("machine", live=False)),  # never an abandon
    ],
)
def test_answered_calls(delay: float | None, amd: str | None, expected: CallResult) -> None:
    assert outcome_of_call(connect_delay=delay, connect_limit=2.0, amd_status=amd) == expected


# --- next steps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [
        ("busy", 600),
        ("no-answer", 7200),
        ("congestion", 1800),
        ("failed", 3600),
        ("machine", 4 * 3600),
        ("skipped", 7200),  # a preview skip waits like a no-answer
    ],
)
def test_retry_after_the_outcomes_delay(outcome: Outcome, delay: int) -> None:
    assert next_step(spec(), 1, outcome, NOW) == Retry(NOW + timedelta(seconds=delay), outcome)


def test_the_campaigns_own_delays_are_used() -> None:
    s = spec(retry={"busy": "5m"})
    assert next_step(s, 2, "busy", NOW) == Retry(NOW + timedelta(minutes=5), "busy")


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "congestion", "failed", "machine"])
def test_the_last_attempt_closes(outcome: Outcome) -> None:
    assert next_step(spec(), 3, outcome, NOW) == Close("max-attempts")
    assert next_step(spec(), 4, outcome, NOW) == Close("max-attempts")


def test_invalid_numbers_close_at_once() -> None:
    assert next_step(spec(), 1, "invalid", NOW) == Close("invalid")


def test_an_answered_call_without_a_disposition_closes() -> None:
    assert next_step(spec(), 1, "answered", NOW) == Close("answered")


def test_an_abandoned_person_is_not_redialled_for_72_hours() -> None:
    s = spec(retry={"abandoned": "1h"})
    assert next_step(s, 1, "abandoned", NOW) == Retry(NOW + timedelta(hours=72), "abandoned")


def test_a_later_outcome_still_waits_out_an_earlier_abandon() -> None:
    earlier = NOW - timedelta(hours=10)
    step = next_step(spec(), 2, "busy", NOW, abandoned_at=earlier)
    assert step == Retry(earlier + timedelta(hours=72), "busy")
    # an abandon older than 72 h no longer holds anything back
    old = NOW - timedelta(hours=80)
    step = next_step(spec(), 2, "busy", NOW, abandoned_at=old)
    assert step == Retry(NOW + timedelta(minutes=10), "busy")


def test_preview_may_redial_an_abandoned_person_sooner() -> None:
    s = spec(mode="preview", retry={"abandoned": "1h"})
    assert next_step(s, 1, "abandoned", NOW) == Retry(NOW + timedelta(hours=1), "abandoned")
    step = next_step(s, 2, "busy", NOW, abandoned_at=NOW - timedelta(hours=1))
    assert step == Retry(NOW + timedelta(minutes=10), "busy")


def test_a_longer_abandon_delay_than_72_hours_is_kept() -> None:
    s = spec(retry={"abandoned": "4d"})
    assert next_step(s, 1, "abandoned", NOW) == Retry(NOW + timedelta(days=4), "abandoned")


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("completed", Close("completed")),
        ("not-interested", Close("not-interested")),
        ("do-not-call", Close("do-not-call", "global")),
        ("call-back", Retry(NOW + timedelta(days=1), "call-back")),
    ],
)
def test_dispositions_decide(disposition: str, expected: Retry | Close) -> None:
    assert next_step(spec(), 1, "answered", NOW, disposition=disposition) == expected


def test_a_disposition_after_a_late_agent_still_decides_and_the_hold_still_applies() -> None:
    # the agent came after the connect limit: an abandon for the figures; the person talked
    assert next_step(spec(), 1, "abandoned", NOW, disposition="completed") == Close("completed")
    step = next_step(spec(), 1, "abandoned", NOW, disposition="call-back")
    assert step == Retry(NOW + ABANDON_HOLD, "call-back")


def test_a_retrying_disposition_without_its_own_delay_and_the_campaign_dnc_list() -> None:
    s = spec(
        dispositions=[
            {"name": "later", "close": False},
            {"name": "opt-out", "dnc": "campaign"},
        ]
    )
    assert next_step(s, 1, "answered", NOW, disposition="later") == Retry(
        NOW + timedelta(hours=2), "later"
    )
    assert next_step(s, 1, "answered", NOW, disposition="opt-out") == Close("opt-out", "campaign")


def test_a_retrying_disposition_still_stops_at_max_attempts() -> None:
    assert next_step(spec(), 3, "answered", NOW, disposition="call-back") == Close("max-attempts")
    # a closing one needs no attempts left
    assert next_step(spec(), 3, "answered", NOW, disposition="completed") == Close("completed")


def test_an_unknown_disposition_names_the_campaign_and_its_dispositions() -> None:
    with pytest.raises(ValidationError) as info:
        next_step(spec(), 1, "answered", NOW, disposition="maybe")
    message = str(info.value)
    assert "spring" in message and "'maybe'" in message and "call-back" in message


def test_naive_times_are_utc() -> None:
    naive = datetime(2026, 12, 7, 12, 0)
    assert next_step(spec(), 1, "busy", naive) == Retry(NOW + timedelta(minutes=10), "busy")
