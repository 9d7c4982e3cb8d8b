"""Incremental AMI wire parser: raw bytes → messages (``dict[str, str]``).

Our own parser rather than panoramisk's so that the live connection and ``cti replay``
share one tolerant, fast path. It never raises on bad input: garbage lines are counted in
:attr:`AmiParser.errors`, bytes that are not UTF-8 are decoded with replacement characters.

Asterisk ends each line with CRLF; a stream that does is split as it came, without a
normalizing copy, and lines ending in a bare LF (hand-written traces, some command output)
take a slower path that gives the same messages.

Shape of a message: header keys as sent (case kept), the *first* value of a repeated key
wins, and every ``Variable: NAME=VALUE`` / ``ChanVariable: NAME=VALUE`` line is also
available as ``Variable(NAME)`` / ``ChanVariable(NAME)`` so that repeated ones lose nothing.
``Output:`` lines and the raw body of ``Response: Follows`` are joined with ``\\n`` under
``Output``.

``events``: a live Asterisk sends ~110 events per call, and most of them (``Newexten``,
``NewConnectedLine``, ``DialState``, ``QueueMemberStatus`` …) change nothing cti follows.
Given the set of event names its consumer handles, the parser drops the others after reading
their first line, before splitting them into fields; ``prefilters`` can drop more of one
kind on a look at the raw text (most ``VarSet`` events concern nothing cti follows). Answers
to our own actions (an ``ActionID``), responses and anything not starting with ``Event:`` are
always kept.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

GREETING = "Asterisk Call Manager/"
#: a partial message longer than this is dropped (a peer that never sends a blank line)
MAX_PENDING = 1 << 20
_MULTI_VALUE = frozenset({"Variable", "ChanVariable"})
#: a message end when line ends are mixed: a blank line after CRLF or LF lines
_MESSAGE_END = re.compile("\r?\n\r?\n")


class AmiParser:
    """Split an AMI byte stream into messages; keeps partial data across :meth:`feed` calls."""

    __slots__ = (
        "_decode",
        "_discarding",
        "_events",
        "_pending",
        "_prefilters",
        "errors",
        "first_error",
        "messages",
        "skipped",
        "truncated",
        "version",
    )

    def __init__(
        self,
        events: frozenset[str] | None = None,
        prefilters: Mapping[str, Callable[[str], bool]] | None = None,
    ) -> None:
        self._pending = ""
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        #: an oversize message was dropped: its rest is dropped up to its end
        self._discarding = False
        #: event names to parse (None: all)
        self._events = events
        #: per event name, a test of the raw block (lines joined by ``\r\n`` as sent, or by
        #: ``\n``): False drops it
        self._prefilters = dict(prefilters or {})
        #: events dropped unparsed because their name is not in ``events``
        self.skipped = 0
        #: malformed lines (no ``Key: value`` shape) and dropped oversize/truncated data
        self.errors = 0
        #: the first malformed line (80 characters at most), to show where the input is bad
        self.first_error: str | None = None
        #: messages returned so far
        self.messages = 0
        #: True when :meth:`close` found an unfinished trailing message
        self.truncated = False
        #: the protocol version from the greeting line, once seen
        self.version: str | None = None

    def feed(self, data: bytes) -> list[dict[str, str]]:
        """Add ``data``; return the messages it completed (possibly none)."""
        text = self._decode(data)  # keeps a UTF-8 sequence cut between reads for the next
        if self._pending:
            text = self._pending + text
        # Asterisk ends every line with CRLF: then the text is split as it is, without a
        # copy to normalize it (a CR at the end is the first half of a CRLF cut by the read).
        # Single-character counts are cheap; a two-character search costs as much as a copy.
        cr = text.count("\r")
        if cr == text.count("\n") + text.endswith("\r"):
            blocks = text.split("\r\n\r\n")
            eol = "\r\n"
        else:  # bare LFs (a hand-written trace, a body): the slow, tolerant split
            blocks = _MESSAGE_END.split(text)
            eol = "\n"
            if cr:
                blocks[:-1] = [block.replace("\r\n", "\n") for block in blocks[:-1]]
        pending = blocks.pop()  # what follows the last message end: kept as it came
        if self._discarding and blocks:  # the end of an oversize message: drop it too
            self._discarding = False
            del blocks[0]
        if len(pending) > MAX_PENDING or self._discarding:
            if not self._discarding:
                self._error(f"dropped {len(pending)} characters without a message end")
                log.warning("AMI: dropped %d characters without a message end", len(pending))
                self._discarding = True  # … and the rest of that message when it ends
            pending = pending[-3:]  # may hold the start of the blank line that ends it
        self._pending = pending
        return self._parse_blocks(blocks, eol) if blocks else []

    def close(self) -> list[dict[str, str]]:
        """End of stream: parse what is left (a trailing message without its blank line)."""
        rest = (self._pending + self._decode(b"", True)).replace("\r\n", "\n")
        self._pending = ""
        complete = rest.endswith("\n")  # only the blank line after it is missing
        text = rest.strip("\r\n")
        if not text:
            return []
        if not complete:  # the stream stopped inside a line: that line is lost
            self.truncated = True
            text, _, last = text.rpartition("\n")
            self._error(f"truncated last line {last[:80]!r}")
        return self._parse_blocks(text.split("\n\n"), "\n") if text else []

    def _error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what
        log.debug("AMI parser: %s", what)

    def _parse_blocks(self, blocks: list[str], eol: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        append = out.append
        wanted = self._events
        prefilters = self._prefilters
        for block in blocks:
            if not block:
                continue
            if wanted is not None and block.startswith("Event: "):
                end = block.find(eol)
                name = block[7:end] if end > 0 else block[7:]
                unused = name not in wanted or ((test := prefilters.get(name)) and not test(block))
                if unused and "\nActionID:" not in block:
                    self.skipped += 1
                    continue
            pairs = [line.split(": ", 1) for line in block.split(eol)]
            try:
                msg = dict(pairs)  # fast path: every line is a ``Key: value`` pair
            except ValueError:
                msg = self._slow(block)
            else:
                if (
                    len(msg) != len(pairs)  # a repeated key
                    or "=" in msg.get("Variable", "")  # NAME=VALUE (not VarSet's bare NAME)
                    or "ChanVariable" in msg
                    or "Output" in msg
                    or msg.get("Response") == "Follows"
                ):
                    msg = self._slow(block)
            if msg:
                append(msg)
        self.messages += len(out)
        return out

    def _slow(self, block: str) -> dict[str, str]:
        """Careful line-by-line parse: duplicates, variables, bodies, greeting, garbage."""
        msg: dict[str, str] = {}
        output: list[str] = []
        follows = False
        for raw in block.split("\n"):
            line = raw.rstrip("\r")
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep or not key or (" " in key.strip() and not key.endswith(")")):
                if line.startswith(GREETING):
                    self.version = line[len(GREETING) :].strip()
                elif follows or msg.get("Response") == "Follows":
                    follows = True
                    output.append(line)
                else:
                    self._error(f"malformed line {line[:80]!r} in message {msg!r:.120}")
                continue
            key = key.strip()
            value = value[1:] if value.startswith(" ") else value
            if key == "Output":
                output.append(value)
                continue
            if key in _MULTI_VALUE:
                name, eq, var_value = value.partition("=")
                if eq:
                    msg.setdefault(f"{key}({name})", var_value)
            if key not in msg:
                msg[key] = value
        if output:
            msg["Output"] = "\n".join(output)
        return msg


def parse_bytes(data: bytes) -> list[dict[str, str]]:
    """Parse a whole recorded stream (e.g. a ``.ami`` file) at once."""
    parser = AmiParser()
    return parser.feed(data) + parser.close()
