"""The call log's journal: finished calls on local disk until the store has them.

The tracker forgets a call the moment it ends; from then on the record exists only where
cti put it. So the daemon appends every finished call to this journal *before* anything
else (one ``write`` of one JSON line: a ``kill -9`` after it loses nothing, the bytes are
the kernel's), and the call log consumer stores calls *from* the journal, in order, moving a
cursor past each batch the store took. A restart resumes at the cursor; a store outage only
makes the journal longer.

Layout of ``directory``: segments ``0000000001.jsonl`` … (one record per line, a new
segment every ``segment_bytes``) and ``cursor.json`` (segment and byte offset of the first
call not yet stored, replaced atomically). Consumed segments are deleted. ``fsync`` runs
once per batch (:meth:`CallJournal.sync`, off the event loop), not per call: a power loss can
cost the last batch, a process crash nothing.

Bounded: past ``max_bytes`` of unstored calls a record is not journaled; it is logged at
ERROR in full (JSON, so it can be replayed) and still handed to the consumer in memory.
Nothing is dropped silently. ``directory=None`` keeps the queue in memory only (tests,
replays, an in-memory store).
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cti.ami.events import CallRecord

log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 << 20
MAX_BYTES = 1 << 30
#: records of this process kept in memory for the consumer (beyond: read back from disk)
CACHE = 10_000
_CURSOR = "cursor.json"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a record starts or ends: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Entry:
    record: CallRecord | None  # None: a line that could not be read (skipped, logged)
    start: Position
    end: Position


@dataclass(frozen=True, slots=True)
class Batch:
    """Calls taken from the journal for one write (see :meth:`CallJournal.take`)."""

    records: list[CallRecord]
    end: Position | None  # the cursor after the journaled ones
    memory: int  # how many came from the in-memory overflow


class CallJournal:
    """An on-disk FIFO of :class:`CallRecord` (see the module docs)."""

    def __init__(
        self,
        directory: Path | None,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        max_bytes: int = MAX_BYTES,
        cache: int = CACHE,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self._cache_size = cache
        self._cache: deque[Entry] = deque()
        #: records appended but never written to disk (over the bound, or memory only)
        self._memory: deque[CallRecord] = deque()
        self._file: IO[bytes] | None = None
        self._write = Position(1, 0)
        self._cursor = Position(1, 0)
        self._sizes: dict[int, int] = {}
        self._warned = False
        #: records appended in this process / lines that could not be read back
        self.appended = 0
        self.unreadable = 0
        if directory is not None:
            self._open(directory)

    # ---- public --------------------------------------------------------------------------

    @property
    def backlog_bytes(self) -> int:
        """Bytes of journaled calls not stored yet."""
        if self.directory is None:
            return 0
        total = sum(size for seg, size in self._sizes.items() if seg >= self._cursor.segment)
        return total - (self._cursor.offset if self._cursor.segment in self._sizes else 0)

    def has_pending(self) -> bool:
        return self._cursor < self._write or bool(self._memory)

    def append(self, record: CallRecord) -> None:
        """Keep ``record`` until :meth:`ack` says the store has it (never raises)."""
        self.appended += 1
        if self.directory is None:
            self._memory.append(record)
            return
        line = (json.dumps(record.to_json(), ensure_ascii=False) + "\n").encode()
        if self.backlog_bytes + len(line) > self.max_bytes:
            log.error(
                "call log journal full (%d MiB unstored, limit %d MiB): call %s/%s kept in "
                "memory only; record: %s",
                self.backlog_bytes >> 20,
                self.max_bytes >> 20,
                record.pbx,
                record.linkedid,
                line.decode().rstrip(),
            )
            self._memory.append(record)
            return
        try:
            self._append_line(record, line)
        except OSError as exc:
            log.error(
                "call log journal: cannot write to %s (%s): call %s/%s kept in memory only; "
                "record: %s",
                self.directory,
                exc,
                record.pbx,
                record.linkedid,
                line.decode().rstrip(),
            )
            self._memory.append(record)
            return
        if not self._warned and self.backlog_bytes > self.max_bytes * 0.8:
            self._warned = True
            log.warning(
                "call log journal at %d MiB of %d MiB: the store has not taken calls for a "
                "while (is it down?)",
                self.backlog_bytes >> 20,
                self.max_bytes >> 20,
            )

    def pending_count(self) -> int:
        """How many calls are not stored yet (reads the backlog's lines: for shutdown and
        status, not for every call)."""
        count = len(self._memory)
        if self.directory is None or not self._cursor < self._write:
            return count
        position = self._cursor
        for segment in sorted(s for s in self._sizes if s >= position.segment):
            with (self._root() / _name(segment)).open("rb") as fh:
                fh.seek(position.offset if segment == position.segment else 0)
                count += fh.read().count(b"\n")
        return count

    def take(self, limit: int) -> Batch:
        """Up to ``limit`` of the oldest calls not stored yet, oldest first; they stay in
        the journal until :meth:`ack` of this batch."""
        entries = self._entries(limit)
        memory = list(self._memory_head(limit - len(entries)))
        end = entries[-1].end if entries else None
        records = [e.record for e in entries if e.record is not None]
        return Batch(records + memory, end, len(memory))

    def ack(self, batch: Batch) -> None:
        """The calls of ``batch`` are in the store (or were refused for good)."""
        if batch.end is not None:
            self._move_cursor(batch.end)
        for _ in range(min(batch.memory, len(self._memory))):
            self._memory.popleft()
        if self._warned and self.backlog_bytes < self.max_bytes * 0.5:
            self._warned = False

    def sync(self) -> None:
        """Flush what was appended to the disk itself (the consumer, once per batch)."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _root(self) -> Path:
        if self.directory is None:
            raise RuntimeError("the call log journal keeps no files (memory only)")
        return self.directory

    # ---- disk ------------------------------------------------------------------------------

    def _open(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.glob("*.jsonl"):
            if path.stem.isdigit():
                self._sizes[int(path.stem)] = path.stat().st_size
        self._cursor = self._read_cursor(directory)
        for seg in [s for s in self._sizes if s < self._cursor.segment]:
            self._remove(seg)
        last = max(self._sizes, default=self._cursor.segment)
        self._write = Position(last, self._repair(last))
        if self._write < self._cursor:  # a cursor past the data (segments lost): restart
            self._cursor = self._write
        self._file = (directory / _name(last)).open("ab", buffering=0)
        self._sizes[last] = self._write.offset
        if self.has_pending():
            log.info(
                "call log journal %s: %d KiB of calls from an earlier run not stored yet; "
                "storing them first",
                directory,
                self.backlog_bytes >> 10,
            )

    def _read_cursor(self, directory: Path) -> Position:
        path = directory / _CURSOR
        if not path.exists():
            return Position(min(self._sizes, default=1), 0)
        try:
            data = json.loads(path.read_text())
            return Position(int(data["segment"]), int(data["offset"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("call log journal: unreadable %s (%s); storing it all again", path, exc)
            return Position(min(self._sizes, default=1), 0)

    def _repair(self, segment: int) -> int:
        """The end of the last complete line of ``segment`` (a crash mid-line is cut)."""
        path = self._root() / _name(segment)
        if not path.exists():
            return 0
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            log.warning("call log journal: %s ends mid-record (a crash); cut there", path)
            with path.open("r+b") as fh:
                fh.truncate(end)
        return end

    def _append_line(self, record: CallRecord, line: bytes) -> None:
        if self._write.offset and self._write.offset + len(line) > self.segment_bytes:
            self._close_file()
            caught_up = self._cursor == self._write
            self._write = Position(self._write.segment + 1, 0)
            self._file = (self._root() / _name(self._write.segment)).open("ab", buffering=0)
            self._sizes[self._write.segment] = 0
            if caught_up:
                self._move_cursor(self._write)
        start = self._write
        if self._file is None:
            self._file = (self._root() / _name(start.segment)).open("ab", buffering=0)
        self._file.write(line)  # unbuffered: one write(2)
        self._write = Position(start.segment, start.offset + len(line))
        self._sizes[start.segment] = self._write.offset
        if len(self._cache) < self._cache_size and (
            not self._cache or _follows(self._cache[-1].end, start)
        ):
            self._cache.append(Entry(record, start, self._write))

    def _entries(self, limit: int) -> list[Entry]:
        if self.directory is None or limit <= 0 or not self._cursor < self._write:
            return []
        while self._cache and self._cache[0].start < self._cursor:
            self._cache.popleft()
        if self._cache and _follows(self._cursor, self._cache[0].start):
            out: list[Entry] = []
            for entry in self._cache:
                if len(out) == limit or (out and not _follows(out[-1].end, entry.start)):
                    break
                out.append(entry)
            if len(out) == limit or out[-1].end == self._write:
                return out
        return list(self._read_disk(limit))

    def _read_disk(self, limit: int) -> Iterator[Entry]:
        position, count = self._cursor, 0
        while count < limit and position < self._write:
            path = self._root() / _name(position.segment)
            if not path.exists() or position.offset >= self._sizes.get(position.segment, 0):
                if position.segment >= self._write.segment:
                    return
                position = Position(position.segment + 1, 0)
                continue
            with path.open("rb") as fh:
                fh.seek(position.offset)
                for raw in fh:
                    end = Position(position.segment, position.offset + len(raw))
                    yield Entry(self._parse(raw, path, position), position, end)
                    count += 1
                    position = end
                    if count >= limit:
                        return

    def _parse(self, raw: bytes, path: Path, at: Position) -> CallRecord | None:
        try:
            return CallRecord.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            self.unreadable += 1
            log.error(
                "call log journal: %s at byte %d: unreadable record skipped (%s): %r",
                path,
                at.offset,
                exc,
                raw[:300],
            )
            return None

    def _move_cursor(self, to: Position) -> None:
        if to.segment < self._write.segment and to.offset >= self._sizes.get(to.segment, 0):
            to = Position(to.segment + 1, 0)  # the end of a full segment: the next one
        self._cursor = to
        tmp = self._root() / (_CURSOR + ".tmp")
        tmp.write_text(json.dumps({"segment": to.segment, "offset": to.offset}))
        os.replace(tmp, self._root() / _CURSOR)
        for seg in [s for s in self._sizes if s < to.segment]:
            self._remove(seg)

    def _memory_head(self, limit: int) -> Iterator[CallRecord]:
        for i, record in enumerate(self._memory):
            if i >= limit:
                return
            yield record

    def _remove(self, segment: int) -> None:
        self._sizes.pop(segment, None)
        (self._root() / _name(segment)).unlink(missing_ok=True)


def _follows(end: Position, start: Position) -> bool:
    """Whether a record starting at ``start`` comes right after ``end`` (same segment, or
    the first of the next one)."""
    return start == end or (start.offset == 0 and start.segment == end.segment + 1)


def _name(segment: int) -> str:
    return f"{segment:010d}.jsonl"
