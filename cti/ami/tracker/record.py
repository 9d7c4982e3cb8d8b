"""How a finished call becomes its :class:`CallRecord`: outcome, times, rings and talk.

Status rules, first match wins:

1. a call originated to an outside number (a dialer attempt) takes the
   ``OriginateResponse`` Reason (4 answered, 5 busy, 3 no-answer, else failed), unless it
   was answered anyway; answered, then handed to a queue or to agents of whom none
   answered (past the campaign's connect limit, or the person hung up first), it is
   **abandoned** (a dialer abandon: ``direction`` outbound tells it from a caller
   abandoning an inbound queue; ``answered_at`` is when the person answered);
2. answered by an agent or an outside party: **answered**;
3. a call that reached a queue and no agent answered: **abandoned** when the caller gave
   up (``QueueCallerAbandon`` with no ``QUEUESTATUS`` behind it, or hung up in the queue),
   **missed** when the queue let the caller go (timeout, empty: ``QUEUESTATUS``);
4. agents rang and none answered: **missed** (**busy** when every dial was busy; an
   outbound call is busy / no-answer / failed by its dial status);
5. answered by the PBX itself and never by an agent (IVR, message): **answered**, with
   ``answered_by = "pbx"`` (``to`` says which number the PBX answered on);
6. otherwise busy (by the hangup cause) or **failed**.

Times: the PBX's or the receipt clock gives every figure; with only ``Cdr`` events (a
replay of a trace recorded without times) the call's start, answer and end come from them
and ring time is start → answer.
"""

from __future__ import annotations

from datetime import datetime

from cti.ami.classify import Classifier
from cti.ami.events import AgentRing, CallRecord, CallStatus, Direction, TalkSegment
from cti.ami.tracker.state import BUSY, CAUSE_OUTCOME, NOANSWER, Call, parse_cdr, utc


def status(call: Call, direction: Direction) -> CallStatus:
    """The outcome; see the module docs for the rules."""
    if call.originate_external:
        if call.answered or call.orig_outcome == "answered":
            if call.agent is None and (call.queue_joined or call.agents_rung):
                return "abandoned"
            return "answered"
        return _unanswered(call.orig_outcome, call.dial_outcomes, call.cause)
    if call.answered:
        return "answered"
    if call.queue_joined or call.abandoned:
        return "missed" if call.queue_gave_up else "abandoned"
    if call.agents_rung or call.dial_outcomes:
        if call.dial_outcomes and all(o == BUSY for o in call.dial_outcomes):
            return "busy"
        if direction == "outbound":
            return _unanswered(None, call.dial_outcomes, call.cause)
        return "missed"
    if call.caller_up and call.originator is None:
        return "answered"  # by the PBX: an IVR, a message, voicemail
    if call.cause is not None and CAUSE_OUTCOME.get(call.cause) == BUSY:
        return "busy"
    return "failed"


def _unanswered(orig: str | None, dials: list[str], cause: int | None) -> CallStatus:
    """busy / no-answer / failed from the originate result, dial statuses, hangup cause."""
    outcome = orig or (dials[-1] if dials else None)
    if outcome is None and cause is not None:
        outcome = CAUSE_OUTCOME.get(cause)
    if outcome == BUSY:
        return "busy"
    if outcome == NOANSWER:
        return "no-answer"
    return "failed"


def build(call: Call, pbx: str, cls: Classifier, caller_name: str) -> CallRecord:
    """The record of a call that just ended (its legs all hung up, or it was given up)."""
    direction = call.direction(cls, caller_name)
    outcome = status(call, direction)
    # a dialer abandon was answered too: by the person, whom no agent then took
    picked_up = outcome == "answered" or (outcome == "abandoned" and call.originate_external)
    answered_by = call.answered_by
    if picked_up and answered_by is None:
        answered_by = "pbx" if call.caller_up and not call.originate_external else "external"
    if not picked_up:
        answered_by = None
    if call.clock is None and call.cdr_start is not None:
        return _cdr_record(call, pbx, direction, outcome, answered_by)
    answer = call.t_answer
    if answered_by == "pbx":
        answer = call.t_caller_up
    if not picked_up:
        answer = None
    start, end = call.t_start, call.t_end
    ring = None
    if call.t_first_ring is not None:
        stop = answer if answer is not None and answered_by != "pbx" else call.t_last_ring
        stop = stop if stop is not None else end
        ring = _seconds(call.t_first_ring, stop)
    times = (utc(start), utc(answer), utc(end))
    return _record(call, pbx, direction, outcome, answered_by, times, ring, _seconds(answer, end))


def _cdr_record(
    call: Call, pbx: str, direction: Direction, outcome: CallStatus, answered_by: str | None
) -> CallRecord:
    started, ended = parse_cdr(call.cdr_start), parse_cdr(call.cdr_end)
    answered = parse_cdr(call.cdr_answer or call.cdr_caller_answer)
    if answered_by is None:
        answered = None
    ring = talk = None
    if started is not None and answered is not None:
        ring = (answered - started).total_seconds()
    elif started is not None and ended is not None:
        ring = (ended - started).total_seconds()
    if answered is not None and ended is not None:
        talk = (ended - answered).total_seconds()
    times = (started, answered, ended)
    return _record(call, pbx, direction, outcome, answered_by, times, ring, talk)


def _record(
    call: Call,
    pbx: str,
    direction: Direction,
    outcome: CallStatus,
    answered_by: str | None,
    times: tuple[datetime | None, datetime | None, datetime | None],
    ring: float | None,
    talk: float | None,
) -> CallRecord:
    started, answered, ended = times
    timed = call.clock is not None and call.clock != "cdr"
    cause = call.cause_caller if call.cause_caller else call.cause
    return CallRecord(
        pbx=pbx,
        linkedid=call.linkedid,
        direction=direction,
        from_number=call.from_number,
        from_name=call.from_name,
        to_number=call.to_number,
        queue=call.queue,
        agents_rung=tuple(call.agents_rung),
        # an outbound call's agent is the one who placed it (click-to-dial, own phone)
        agent=call.originator if direction == "outbound" and call.originator else call.agent,
        status=outcome,
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        ring_seconds=ring,
        talk_seconds=talk,
        hangup_cause=cause,
        transfers=tuple(call.transfers),
        originate=call.originate_info(),
        recording=call.recording,
        amd_status=call.amd_status,
        partial=call.partial,
        clock="cdr" if call.clock is None and call.cdr_start is not None else call.clock,
        answered_by=answered_by,  # type: ignore[arg-type]
        ivr_seconds=_ivr(call) if timed else None,
        queue_wait_seconds=round(call.queue_wait, 6) if timed else None,
        hold_seconds=round(call.hold, 6) if timed else None,
        rings=tuple(AgentRing(r.agent, utc(r.start), utc(r.end), r.answered) for r in call.rings),
        talks=tuple(
            TalkSegment(t.agent, utc(t.start), utc(t.end), round(t.hold, 6) if timed else None)
            for t in call.talks
        ),
    )


def _ivr(call: Call) -> float:
    """The caller's time answered by the PBX before the call reached a queue or agent."""
    if call.t_caller_up is None or call.originate_external or call.originator is not None:
        return 0.0
    until = call.routed if call.routed is not None else call.t_end
    return _seconds(call.t_caller_up, until) or 0.0


def _seconds(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, end - start), 6)
