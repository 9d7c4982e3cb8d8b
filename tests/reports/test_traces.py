"""Replayed Asterisk 22 recordings (tests/traces/asterisk22: IVR, queue answered, abandoned
and timed out, transfers) stored by the call log: the reports give the IVR, wait, ring and
talk figures the recordings show (their README's table: IVR 3 s, queue wait 2 s, ring 2 s;
a queue giving up after 8 s; a caller leaving after 4 s)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cti.ami.events import CallRecord
from cti.ami.replay import replay_files
from cti.calllog.service import CallLog
from cti.config import ReportsConfig
from cti.crm_store.store import Store
from cti.reports.calendar import Period
from cti.reports.service import ReportService

LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"
TRACES = (
    "ivr-then-queue",
    "queue-abandoned",
    "queue-timeout",
    "blind-transfer",
    "attended-transfer",
    "inbound-answered",
    "inbound-missed",
)


@pytest.fixture
async def records(store: Store) -> list[CallRecord]:
    out = []
    for name in TRACES:
        path = LAB / f"{name}.ami"
        if not path.exists():
            continue
        [record] = replay_files([path], pbx="lab")
        out.append(replace(record, linkedid=f"{name}:{record.linkedid}"))
    log = CallLog(store)
    try:
        await log.record_many(out)
    finally:
        log.close()
    return out


def _period(records: list[CallRecord]) -> Period:
    days = [r.started_at.date() for r in records if r.started_at is not None]
    return Period(min(days), max(days), ZoneInfo("UTC"))


async def test_queue_figures_of_the_recordings(store: Store, records: list[CallRecord]) -> None:
    report = await ReportService(store, ReportsConfig(short_abandon_seconds=2)).queues(
        _period(records)
    )
    queues = {q.queue: q for q in report.queues}
    support, sales = queues["support"], queues["sales"]
    # ivr-then-queue: 3 s of IVR, 2 s in the queue, answered
    assert (support.offered, support.answered) == (1, 1)
    assert support.average_ivr_seconds == pytest.approx(3.0, abs=0.1)
    assert support.average_speed_of_answer == pytest.approx(2.0, abs=0.1)
    # queue-timeout (8 s, the queue gave up) and queue-abandoned (the caller left at 4 s)
    assert (sales.offered, sales.answered, sales.abandoned, sales.timed_out) == (2, 0, 1, 1)
    assert sales.longest_wait == pytest.approx(8.0, abs=0.1)
    assert sales.average_abandon_seconds == pytest.approx(4.0, abs=0.1)
    # each stored figure is the record's own
    by_queue = {r.queue: r for r in records if r.queue == "support"}
    assert support.average_speed_of_answer == pytest.approx(
        by_queue["support"].queue_wait_seconds, abs=1e-3
    )


async def test_agent_ring_and_talk_of_the_recordings(
    store: Store, records: list[CallRecord]
) -> None:
    report = await ReportService(store, ReportsConfig()).agents(
        _period(records), max(r.ended_at for r in records if r.ended_at) + timedelta(hours=1)
    )
    agents = {a.agent: a for a in report.agents}
    # 201 rang 2 s and answered (ivr-then-queue); 102 rang in queue-timeout and -abandoned
    assert agents["201"].ring_seconds == pytest.approx(2.0, abs=0.1)
    assert (agents["201"].offered, agents["201"].answered) == (1, 1)
    assert agents["102"].answered == 0 and agents["102"].missed == agents["102"].offered >= 2
    assert agents["102"].ring_no_answer_seconds == pytest.approx(
        sum(r.seconds or 0 for rec in records for r in rec.rings if r.agent == "102"), abs=1e-3
    )
    # talk: each agent's own part (a transfer credits both), as the records have them
    for ext, fig in agents.items():
        talks = [t for rec in records for t in rec.talks if t.agent == ext]
        want = sum((t.seconds or 0) - (t.hold_seconds or 0) for t in talks)
        assert fig.talk_seconds == pytest.approx(want, abs=1e-3), ext
        assert fig.handled == len({id(t) for t in talks})
    assert agents["201"].talk_seconds == pytest.approx(3.5, abs=0.2)
    assert agents["104"].handled >= 1 and agents["105"].handled >= 1


def _corpus() -> list[Path]:
    from tests.ami.tracehelp import ASTERISK22, CACOFONISK, trace_files

    return trace_files(ASTERISK22) + trace_files(CACOFONISK, "**/*.ami")


@pytest.mark.traces
async def test_the_shared_corpus_gives_the_records_figures(store: Store) -> None:
    """Every recording of ``../shared/ami-traces`` (Asterisk 22 and cacofonisk's), replayed
    with ``cti replay``'s reader and stored: each queue's offered, answered, ASA and IVR
    time and each agent's rings, answers and talk in the reports are the records' own."""
    records: list[CallRecord] = []
    for path in _corpus():  # marker traces: a missing corpus is reported by tests/needs.py
        for record in replay_files([path], pbx=f"{path.parent.name}-{path.stem}"[:64]):
            if record.started_at is not None:
                records.append(record)
    log = CallLog(store)
    try:
        await log.record_many(records)
    finally:
        log.close()
    period = _period(records)
    service = ReportService(store, ReportsConfig())
    queues = {q.queue: q for q in (await service.queues(period)).queues}
    inbound = [r for r in records if r.direction == "inbound" and r.queue]
    assert queues, "the corpus has queue calls"
    for name, q in queues.items():
        mine = [r for r in inbound if r.queue == name]
        answered = [r for r in mine if r.status == "answered"]
        assert (q.offered, q.answered) == (len(mine), len(answered)), name
        if answered:
            asa = sum(r.queue_wait_seconds or 0 for r in answered) / len(answered)
            assert q.average_speed_of_answer == pytest.approx(asa, abs=1e-3), name
        ivr = [r.ivr_seconds for r in mine if r.ivr_seconds is not None]
        if ivr:
            assert q.average_ivr_seconds == pytest.approx(sum(ivr) / len(ivr), abs=1e-3)
    now = max(r.ended_at or r.started_at for r in records if r.started_at) + timedelta(days=1)
    agents = {a.agent: a for a in (await service.agents(period, now)).agents}
    for ext, fig in agents.items():
        rung = {
            (r.pbx, r.linkedid)
            for r in records
            for g in r.rings
            if g.agent == ext and g.started_at is not None
        }
        took = {
            (r.pbx, r.linkedid)
            for r in records
            for g in r.rings
            if g.agent == ext and g.answered and g.started_at is not None
        }
        assert (fig.offered, fig.answered) == (len(rung), len(took)), ext
        talks = [t for r in records for t in r.talks if t.agent == ext and t.started_at]
        want = sum((t.seconds or 0) - (t.hold_seconds or 0) for t in talks)
        assert fig.talk_seconds == pytest.approx(max(0.0, want), abs=1e-2), ext
