"""Incremental AMI wire parser: raw bytes → messages (``dict[str, str]``).

Our own parser rather than panoramisk's so that the live connection and ``cti replay``
share one tolerant, fast path. It never raises on bad input: garbage lines are counted in
:attr:`AmiParser.errors`, bytes that are not UTF-8 are decoded with replacement characters.

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

import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

GREETING = "Asterisk Call Manager/"
#: a partial message longer than this is dropped (a peer that never sends a blank line)
MAX_PENDING = 1 << 20
_MULTI_VALUE = frozenset({"Variable", "ChanVariable"})


class AmiParser:
    """Split an AMI byte stream into messages; keeps partial data across :meth:`feed` calls."""

    __slots__ = (
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
        self._pending = b""
        #: event names to parse (None: all)
        self._events = events
        #: per event name, a test of the raw block (lines joined by ``\n``): False drops it
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
        buf = self._pending + data if self._pending else data
        if b"\r" in buf:
            # a CR at the very end may be the first half of CRLF CRLF: keep it for next time
            buf = buf.replace(b"\r\n", b"\n")
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            if len(buf) > MAX_PENDING:
                self._error(f"dropped {len(buf)} bytes without a message end")
                log.warning("AMI: dropped %d bytes without a message end", len(buf))
                buf = b""
            self._pending = buf
            return []
        self._pending = buf[cut + 2 :]
        text = buf[:cut].decode("utf-8", "replace")
        return self._parse_blocks(text.split("\n\n"))

    def close(self) -> list[dict[str, str]]:
        """End of stream: parse what is left (a trailing message without its blank line)."""
        rest = self._pending.replace(b"\r\n", b"\n")
        self._pending = b""
        complete = rest.endswith(b"\n")  # only the blank line after it is missing
        rest = rest.strip(b"\r\n")
        if not rest:
            return []
        text = rest.decode("utf-8", "replace")
        if not complete:  # the stream stopped inside a line: that line is lost
            self.truncated = True
            text, _, last = text.rpartition("\n")
            self._error(f"truncated last line {last[:80]!r}")
        return self._parse_blocks(text.split("\n\n")) if text else []

    def _error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what
        log.debug("AMI parser: %s", what)

    def _parse_blocks(self, blocks: list[str]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        append = out.append
        wanted = self._events
        prefilters = self._prefilters
        for block in blocks:
            if not block:
                continue
            if wanted is not None and block.startswith("Event: "):
                end = block.find("\n")
                name = block[7:end] if end > 0 else block[7:]
                unused = name not in wanted or ((test := prefilters.get(name)) and not test(block))
                if unused and "\nActionID:" not in block:
                    self.skipped += 1
                    continue
            pairs = [line.split(": ", 1) for line in block.split("\n")]
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
