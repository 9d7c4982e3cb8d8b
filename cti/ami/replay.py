"""Replay recorded AMI bytes offline through the same parser and tracker as the live path.

A ``.ami`` file is raw AMI traffic as Asterisk wrote it (see ``../shared/ami-traces``).
Only what the AMI events themselves show is used: the ``.sent`` file that the recorder
keeps next to a trace (the actions it sent) is deliberately *not* read, so a replay gives
exactly the records the live daemon would have produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from cti.ami.events import CallEnded, CallRecord
from cti.ami.parser import AmiParser
from cti.ami.tracker import CallTracker
from cti.config import PbxConfig
from cti.errors import ValidationError

CHUNK = 64 * 1024


class Replayer:
    """One parser + one tracker (one PBX); feed bytes, collect finished call records."""

    def __init__(self, *, pbx: str = "default", config: PbxConfig | None = None) -> None:
        self.tracker = CallTracker(pbx, config)
        # as the live connection parses
        self.parser = AmiParser(self.tracker.events, self.tracker.prefilters)

    def _apply(self, messages: list[dict[str, str]]) -> list[CallRecord]:
        records: list[CallRecord] = []
        feed = self.tracker.feed
        for msg in messages:
            for event in feed(msg):
                if isinstance(event, CallEnded):
                    records.append(event.record)
        return records

    def feed(self, data: bytes) -> list[CallRecord]:
        return self._apply(self.parser.feed(data))

    def end_of_file(self) -> list[CallRecord]:
        """A file may end without the blank line after its last message."""
        return self._apply(self.parser.close())

    def finish(self) -> list[CallRecord]:
        """Calls still open at the very end come out as partial records."""
        return [e.record for e in self.tracker.flush() if isinstance(e, CallEnded)]


def replay_bytes(
    data: bytes, *, pbx: str = "default", config: PbxConfig | None = None
) -> list[CallRecord]:
    """All calls in ``data``; calls still open at the end come out partial."""
    replayer = Replayer(pbx=pbx, config=config)
    records: list[CallRecord] = []
    for start in range(0, len(data), CHUNK):
        records += replayer.feed(data[start : start + CHUNK])
    return records + replayer.end_of_file() + replayer.finish()


def iter_files(paths: Iterable[str | Path], replayer: Replayer) -> Iterator[CallRecord]:
    """Stream the records of several trace files, one after the other (one PBX)."""
    for path in paths:
        try:
            with Path(path).open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield from replayer.feed(chunk)
        except OSError as exc:
            raise ValidationError(
                f"{path}: cannot read trace: {exc.strerror or exc}", details={"file": str(path)}
            ) from None
        yield from replayer.end_of_file()
    yield from replayer.finish()


def replay_files(
    paths: Iterable[str | Path], *, pbx: str = "default", config: PbxConfig | None = None
) -> list[CallRecord]:
    """All calls in the given trace files, replayed in order through one tracker."""
    return list(iter_files(paths, Replayer(pbx=pbx, config=config)))
