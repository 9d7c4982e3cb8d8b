"""What an attempt came to, and what happens to its lead next.

Pure: the engine passes what the PBX said (the ``OriginateResponse`` Reason, the hang-up
cause, whether and when an agent took the call, ``AMDSTATUS``) and gets an outcome; then
passes the outcome (and the operator's disposition) and gets a retry time or a close.

``next_step`` does not know call windows: a retry time may fall in a closed window, and
the engine moves it with ``windows.next_open`` for the lead's zones (the due-pick checks
the window anyway). Kept apart so each rule is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cti.dialer.campaign_file import RETRY_OUTCOMES, CampaignSpec
from cti.errors import ValidationError

#: ``crm_store.models.campaigns.ATTEMPT_OUTCOMES``
Outcome = Literal[
    "answered",
    "abandoned",
    "busy",
    "no-answer",
    "congestion",
    "invalid",
    "failed",
    "machine",
    "skipped",
]
#: no redial after an abandon for this long, but by preview (Ofcom: a guaranteed agent)
ABANDON_HOLD = timedelta(hours=72)

#: ``OriginateResponse`` Reason: the last control frame Asterisk saw on the new channel
#: (``AST_CONTROL_*``); 4 (answer) is a success and has no failure outcome. Checked against
#: Asterisk 22 recordings: busy → 5 (cause 17), ringing until the timeout → 3 (cause 19).
REASON_OUTCOMES: dict[int, Outcome] = {
    0: "failed",  # no channel came up (unknown endpoint, route refused at once)
    1: "no-answer",  # AST_CONTROL_HANGUP: the far end hung up before answering
    2: "no-answer",  # AST_CONTROL_RING
    3: "no-answer",  # AST_CONTROL_RINGING: rang until the Originate timeout
    5: "busy",  # AST_CONTROL_BUSY
    8: "congestion",  # AST_CONTROL_CONGESTION
}
#: Q.850 hang-up causes that say more than the Reason (0, 16 and 31 say nothing)
CAUSE_OUTCOMES: dict[int, Outcome] = {
    1: "invalid",  # unallocated number
    3: "invalid",  # no route to destination
    22: "invalid",  # number changed
    28: "invalid",  # invalid number format
    17: "busy",  # user busy
    18: "no-answer",  # no user responding
    19: "no-answer",  # no answer (user alerted)
    20: "no-answer",  # subscriber absent (a mobile switched off)
    21: "no-answer",  # call rejected: the person declined; tried again later
    27: "failed",  # destination out of order
    34: "congestion",  # no circuit available
    38: "congestion",  # network out of order
    41: "congestion",  # temporary failure
    42: "congestion",  # switching equipment congestion
    44: "congestion",  # requested channel not available
    47: "congestion",  # resource unavailable
}


def _int(value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        return None


def outcome_of_originate_failure(reason: int | str | None, hangup_cause: int | None) -> Outcome:
    """The outcome of an Originate that was not answered.

    A telling hang-up cause wins (only the cause says a number does not exist); else the
    Reason; an unknown Reason is ``failed``. Raises ValueError for Reason 4 (answered:
    ``outcome_of_call`` decides those).
    """
    code = _int(reason)
    if code == 4:
        raise ValueError("OriginateResponse Reason 4 is an answered call, not a failure")
    if hangup_cause is not None and hangup_cause in CAUSE_OUTCOMES:
        return CAUSE_OUTCOMES[hangup_cause]
    return REASON_OUTCOMES.get(code, "failed") if code is not None else "failed"


@dataclass(frozen=True, slots=True)
class CallResult:
    """An answered attempt's outcome, and whether a person answered (``live``: the abandon
    rate's denominator)."""

    outcome: Outcome
    live: bool


def outcome_of_call(
    *, connect_delay: float | None, connect_limit: float, amd_status: str | None = None
) -> CallResult:
    """The outcome of an answered Originate.

    ``connect_delay``: seconds from the answer to the agent's talk (``None``: no agent ever).
    ``AMDSTATUS`` ``MACHINE``: a machine, never an abandon. Otherwise a person answered
    (``HUMAN``, ``NOTSURE``, ``HANGUP`` or no detection): answered when an agent took the
    call within the connect limit, else **abandoned**, also when the agent came later or the
    person hung up first (Ofcom's definition: answered and not connected; it never
    under-counts). The limit runs from the answer, so detection time counts against it.
    """
    if (amd_status or "").strip().upper() == "MACHINE":
        return CallResult("machine", live=False)
    if connect_delay is not None and connect_delay <= connect_limit:
        return CallResult("answered", live=True)
    return CallResult("abandoned", live=True)


@dataclass(frozen=True, slots=True)
class Retry:
    """Dial the lead again, not before ``at`` (UTC); ``reason``: the outcome or disposition."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Close:
    """The lead is done: ``reason`` is a disposition, ``answered`` (wrap-up ended without
    one), ``invalid`` or ``max-attempts``; ``dnc`` the list its number joins, if any."""

    reason: str
    dnc: Literal["campaign", "global"] | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def next_step(
    spec: CampaignSpec,
    attempts: int,
    outcome: Outcome,
    now: datetime,
    *,
    disposition: str | None = None,
    abandoned_at: datetime | None = None,
) -> Retry | Close:
    """What happens to a lead after an attempt (``attempts`` counts it).

    A disposition decides first: one that closes closes (and names its do-not-call list);
    one that retries waits its ``retry_after`` (else the outcome's delay). Without one:
    ``invalid`` closes, ``answered`` closes (its wrap-up ended without a disposition), the
    rest retry after ``spec.retry[outcome]`` (``skipped`` after the no-answer delay). Any
    retry past ``max_attempts`` closes instead. Outside preview, no retry is sooner than
    72 h after the lead's last abandon (this one or ``abandoned_at``).
    """
    at_now = _utc(now)
    if disposition is not None:
        chosen = spec.disposition(disposition)
        if chosen is None:
            names = ", ".join(d.name for d in spec.dispositions)
            raise ValidationError(
                f"campaign {spec.name}: disposition {disposition!r} is not one of its "
                f"dispositions ({names})",
                details={"campaign": spec.name, "field": "disposition"},
            )
        if chosen.close:
            return Close(chosen.name, chosen.dnc)
        delay = chosen.retry_after
        reason = chosen.name
    elif outcome == "invalid":
        return Close("invalid")
    elif outcome == "answered":
        return Close("answered")
    else:
        delay = None
        reason = outcome
    if delay is None:
        delay = next((spec.retry[o] for o in RETRY_OUTCOMES if o == outcome), None)
        if delay is None:  # answered with a retrying disposition, or a preview skip
            delay = spec.retry["no-answer"]
    if attempts >= spec.max_attempts:
        return Close("max-attempts")
    at = at_now + timedelta(seconds=delay)
    if spec.mode != "preview":
        last_abandon = at_now if outcome == "abandoned" else abandoned_at
        if last_abandon is not None:
            at = max(at, _utc(last_abandon) + ABANDON_HOLD)
    return Retry(at, reason)
