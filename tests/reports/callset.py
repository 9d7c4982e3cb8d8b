"""A generated call set (seeded): inbound queue calls answered, abandoned (some short),
timed out, transferred, held; outbound and internal calls; a handful of repeat callers so
that callbacks open and close. Each record is a real :class:`CallRecord` the call log
stores as it would a tracked call."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from cti.ami.events import AgentRing, CallRecord, TalkSegment

START = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # across Europe's DST change (29 March)
AGENTS = ("101", "102", "103", "104")
QUEUES = ("sales", "support")
#: few numbers: repeat callers, so misses get answered later (or not)
NUMBERS = tuple(f"+7495123{n:04d}" for n in range(40))


def _at(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=round(seconds, 3))


def inbound(rng: random.Random, n: int, started: datetime) -> CallRecord:
    """One inbound call to a queue: IVR, wait, rings (each agent at most once), then
    answered (maybe held, maybe transferred), abandoned or timed out."""
    number = rng.choice(NUMBERS)
    queue = rng.choice(QUEUES)
    ivr = rng.choice((0.0, rng.uniform(2, 20)))
    wait = round(rng.uniform(0.5, 60), 3)
    joined = _at(started, ivr)
    fate = rng.choices(("answered", "abandoned", "missed"), (0.7, 0.2, 0.1))[0]
    ringing = rng.sample(AGENTS, rng.randint(1, 3)) if fate != "abandoned" or wait > 3 else []
    rings: list[AgentRing] = []
    answer_at = _at(joined, wait)
    agent = None
    for i, ext in enumerate(ringing):
        last = i == len(ringing) - 1
        ring_start = _at(joined, wait * i / max(1, len(ringing)))
        ring_end = answer_at if last else _at(joined, wait * (i + 1) / max(1, len(ringing)))
        took = fate == "answered" and last
        rings.append(AgentRing(ext, ring_start, ring_end, took))
        if took:
            agent = ext
    talks: tuple[TalkSegment, ...] = ()
    hold = None
    if fate == "answered" and agent is not None:
        talk = round(rng.uniform(20, 600), 3)
        hold = round(rng.uniform(0, talk / 3), 3) if rng.random() < 0.3 else None
        if rng.random() < 0.15:  # a transfer: a second agent's part
            other = rng.choice([a for a in AGENTS if a != agent])
            mid = _at(answer_at, talk / 2)
            ended = _at(answer_at, talk)
            talks = (
                TalkSegment(agent, answer_at, mid, hold),
                TalkSegment(other, mid, ended, None),
            )
        else:
            ended = _at(answer_at, talk)
            talks = (TalkSegment(agent, answer_at, ended, hold),)
    else:
        ended = answer_at
    status = {"answered": "answered", "abandoned": "abandoned", "missed": "missed"}[fate]
    first_ring = rings[0].started_at if rings else None
    return CallRecord(
        pbx="lab",
        linkedid=f"gen-{n}",
        direction="inbound",
        from_number=number,
        from_name=None,
        to_number="100",
        queue=queue,
        agents_rung=tuple(r.agent for r in rings),
        agent=agent,
        status=status,  # type: ignore[arg-type]
        started_at=started,
        answered_at=answer_at if fate == "answered" else None,
        ended_at=ended,
        ring_seconds=(round((answer_at - first_ring).total_seconds(), 3) if first_ring else None),
        talk_seconds=(
            round((ended - answer_at).total_seconds(), 3) if fate == "answered" else None
        ),
        hangup_cause=16,
        clock="pbx",
        answered_by="agent" if fate == "answered" else None,
        ivr_seconds=ivr or None,
        queue_wait_seconds=wait,
        hold_seconds=hold,
        rings=tuple(rings),
        talks=talks,
    )


def outbound(rng: random.Random, n: int, started: datetime) -> CallRecord:
    """An agent's outbound call (answered or not): in no queue."""
    agent = rng.choice(AGENTS)
    answered = rng.random() < 0.6
    answer_at = _at(started, rng.uniform(3, 25))
    ended = _at(answer_at, rng.uniform(10, 300)) if answered else answer_at
    return CallRecord(
        pbx="lab",
        linkedid=f"gen-{n}",
        direction="outbound",
        from_number=agent,
        from_name=None,
        to_number=rng.choice(NUMBERS),
        queue=None,
        agents_rung=(),
        agent=agent,
        status="answered" if answered else "no-answer",
        started_at=started,
        answered_at=answer_at if answered else None,
        ended_at=ended,
        ring_seconds=round((answer_at - started).total_seconds(), 3),
        talk_seconds=round((ended - answer_at).total_seconds(), 3) if answered else None,
        hangup_cause=16,
        clock="pbx",
        answered_by="external" if answered else None,
        talks=(TalkSegment(agent, answer_at, ended, None),) if answered else (),
    )


def callset(seed: int, count: int, start: datetime = START, hours: float = 96) -> list[CallRecord]:
    """``count`` calls over ``hours`` from ``start``, in start order."""
    rng = random.Random(seed)
    times = sorted(start + timedelta(seconds=rng.uniform(0, hours * 3600)) for _ in range(count))
    out = []
    for n, started in enumerate(times):
        started = started.replace(microsecond=0)
        make = inbound if rng.random() < 0.8 else outbound
        out.append(make(rng, n, started))
    return out
