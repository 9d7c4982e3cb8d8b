"""The call log journal: finished calls survive a crash and a store outage, in order, once."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from cti.ami.events import CallRecord
from cti.ami.replay import replay_files
from cti.calllog.journal import CallJournal

LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"
SAMPLE = replay_files([LAB / "blonde-transfer.ami"])[0]


def calls(n: int, start: int = 0) -> list[CallRecord]:
    return [replace(SAMPLE, linkedid=f"call-{i}") for i in range(start, start + n)]


def drain(journal: CallJournal, batch: int = 7) -> list[str]:
    out: list[str] = []
    while journal.has_pending():
        taken = journal.take(batch)
        assert taken.records
        out += [r.linkedid for r in taken.records]
        journal.ack(taken)
    return out


def test_a_record_round_trips_through_json_whole() -> None:
    for path in sorted(LAB.glob("*.ami")):
        for record in replay_files([path]):
            assert CallRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_calls_come_out_in_order_once_and_the_files_go(tmp_path: Path) -> None:
    journal = CallJournal(tmp_path, segment_bytes=4096)
    for record in calls(40):
        journal.append(record)
    assert len(list(tmp_path.glob("*.jsonl"))) > 3  # rotated
    assert drain(journal) == [f"call-{i}" for i in range(40)]
    assert not journal.has_pending() and journal.backlog_bytes == 0
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # only the segment still written to
    journal.close()


def test_what_was_not_acked_comes_back_after_a_crash(tmp_path: Path) -> None:
    """A process that dies (no close, no fsync): the next one resumes at the cursor."""
    first = CallJournal(tmp_path, segment_bytes=4096)
    for record in calls(25):
        first.append(record)
    taken = first.take(10)
    first.ack(taken)
    first.take(5)  # taken, never acked: the store write did not finish
    first.close()  # as kill -9: unbuffered, so only the write(2) calls already made count
    second = CallJournal(tmp_path, segment_bytes=4096)
    assert second.has_pending()
    assert drain(second) == [f"call-{i}" for i in range(10, 25)]
    for record in calls(3, start=25):
        second.append(record)
    assert drain(second) == ["call-25", "call-26", "call-27"]
    second.close()


def test_a_record_cut_by_a_crash_is_dropped_and_the_journal_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = CallJournal(tmp_path)
    for record in calls(3):
        journal.append(record)
    journal.close()
    segment = next(tmp_path.glob("*.jsonl"))
    segment.write_bytes(segment.read_bytes() + b'{"pbx": "default", "linked')
    reopened = CallJournal(tmp_path)
    assert "ends mid-record" in caplog.text
    reopened.append(calls(1, start=3)[0])
    assert drain(reopened) == ["call-0", "call-1", "call-2", "call-3"]
    reopened.close()


def test_an_unreadable_line_is_named_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = CallJournal(tmp_path)
    for record in calls(2):
        journal.append(record)
    journal.close()
    segment = next(tmp_path.glob("*.jsonl"))
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(lines[0] + b'{"not": "a call"}\n' + lines[1])
    reopened = CallJournal(tmp_path)
    assert drain(reopened) == ["call-0", "call-1"]
    assert reopened.unreadable == 1 and "unreadable record skipped" in caplog.text
    assert segment.name in caplog.text
    reopened.close()


def test_past_its_bound_the_journal_says_so_loudly_and_keeps_the_call_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    size = len(json.dumps(SAMPLE.to_json())) + 1
    journal = CallJournal(tmp_path, max_bytes=size * 5 + 10)
    for record in calls(8):
        journal.append(record)
    full = [r for r in caplog.records if "journal full" in r.getMessage()]
    assert len(full) == 3 and all(r.levelno == logging.ERROR for r in full)
    assert '"linkedid": "call-7"' in full[-1].getMessage()  # the record itself, replayable
    assert any("journal at" in r.getMessage() for r in caplog.records)  # the 80 % warning
    assert sorted(drain(journal, batch=3)) == [f"call-{i}" for i in range(8)]
    journal.close()


def test_memory_only_journal_is_a_plain_queue() -> None:
    journal = CallJournal(None)
    for record in calls(5):
        journal.append(record)
    taken = journal.take(3)
    assert [r.linkedid for r in taken.records] == ["call-0", "call-1", "call-2"]
    assert [r.linkedid for r in journal.take(3).records] == ["call-0", "call-1", "call-2"]
    journal.ack(taken)
    assert drain(journal) == ["call-3", "call-4"]


def test_records_beyond_the_memory_cache_are_read_back_from_disk(tmp_path: Path) -> None:
    journal = CallJournal(tmp_path, cache=4, segment_bytes=8192)
    for record in calls(30):
        journal.append(record)
    assert drain(journal, batch=6) == [f"call-{i}" for i in range(30)]
    journal.sync()
    journal.close()


def test_a_corrupt_cursor_means_storing_again_not_losing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = CallJournal(tmp_path)
    for record in calls(4):
        journal.append(record)
    journal.ack(journal.take(2))
    journal.close()
    (tmp_path / "cursor.json").write_text("{garbage")
    reopened = CallJournal(tmp_path)
    assert "unreadable" in caplog.text
    assert drain(reopened) == [f"call-{i}" for i in range(4)]  # stored again: idempotent
    reopened.close()
