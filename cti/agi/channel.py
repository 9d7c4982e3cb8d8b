"""One FastAGI connection: the variable block and command/reply over asyncio streams.

Every read has a deadline (a silent peer is dropped, never waited on for ever), the variable
block is bounded in bytes and lines, and a hang-up is one exception, :class:`AgiHangup`,
whatever shape it came in: the ``HANGUP`` line, a ``511`` (the channel is dead), ``result=-1``
where only a hang-up gives it (``ANSWER``, ``WAIT FOR DIGIT``, ``GET DATA`` without a prompt)
or the socket closing. ``STREAM FILE``'s ``result=-1`` is not one: Asterisk also answers so
when the sound file is missing (the recorded lab has none); the next command tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cti.agi import protocol as p
from cti.agi.protocol import AgiEnv, AgiProtocolError, AgiReply, EnvLimits

log = logging.getLogger(__name__)

#: lines a ``520-`` usage reply may have (res_agi's longest usage text has ~30)
MAX_USAGE_LINES = 100


class AgiHangup(Exception):
    """The caller hung up (or the PBX went away): nothing more can be played or read."""


class AgiTimeout(Exception):
    """The peer sent nothing within the deadline."""


class AgiCommandError(Exception):
    """Asterisk refused a command (510 unknown, 520 usage): a bug on our side, logged."""


class AgiChannel:
    """The server's end of one FastAGI socket."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = 10.0,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.command_timeout = command_timeout
        #: the ``HANGUP`` line or a 511 came: only dead-channel commands are left
        self.dead = False
        #: the commands sent, in order (tests, debugging)
        self.sent: list[str] = []

    async def read_env(self, limits: EnvLimits, within: float) -> AgiEnv:
        """The variable block, within ``within`` seconds and ``limits``."""
        pairs: list[tuple[str, str]] = []
        size = 0
        try:
            async with asyncio.timeout(within):
                while True:
                    raw = await self._line()
                    if not raw.endswith(b"\n"):
                        raise AgiHangup("the peer closed the socket in the variable block")
                    size += len(raw)
                    text = raw[:-1].decode("utf-8", errors="replace")
                    pair = p.parse_env_line(text, len(pairs) + 1)
                    if pair is None:
                        return p.build_env(pairs)
                    pairs.append(pair)
                    if size > limits.max_bytes or len(pairs) > limits.max_lines:
                        raise AgiProtocolError(
                            f"variable block over {limits.max_bytes} bytes "
                            f"or {limits.max_lines} lines"
                        )
        except TimeoutError:
            raise AgiTimeout(f"no complete variable block within {within:g} s") from None

    async def command(self, text: str, within: float | None = None) -> AgiReply:
        """Send one command and read its reply (``HANGUP`` lines before it are noted).

        Raises :class:`AgiHangup` when the channel is dead (before sending, on a 511, on
        EOF), :class:`AgiTimeout` past ``within`` seconds (default: ``command_timeout``) and
        :class:`AgiCommandError` on 510/520."""
        if self.dead:
            raise AgiHangup("the channel hung up")
        self.sent.append(text)
        try:
            self._writer.write(text.encode() + b"\n")
            await self._writer.drain()
        except (ConnectionError, OSError):
            raise AgiHangup("the socket closed") from None
        wait = self.command_timeout if within is None else within
        try:
            async with asyncio.timeout(wait):
                reply = await self._reply()
        except TimeoutError:
            raise AgiTimeout(f"no reply to {text.split(' ', 2)[:2]} within {wait:g} s") from None
        if reply.code == 511:
            self.dead = True
            raise AgiHangup("511: the channel is dead")
        if reply.code in (510, 520):
            raise AgiCommandError(f"{text.split(' ')[0]}: {reply.code} {reply.text}")
        return reply

    async def _reply(self) -> AgiReply:
        while True:
            raw = await self._line()
            if not raw.endswith(b"\n"):
                self.dead = True
                raise AgiHangup("the socket closed")
            line = raw[:-1].decode("utf-8", errors="replace").rstrip("\r")
            if line == p.HANGUP_LINE:
                self.dead = True
                continue
            reply, more = p.parse_reply(line)
            if reply.code == 100:  # "100 result=0 Trying...": the real reply follows
                continue
            for _ in range(MAX_USAGE_LINES if more else 0):
                tail = await self._line()
                if not tail.endswith(b"\n") or tail.startswith(b"520 "):
                    break
            return reply

    async def _line(self) -> bytes:
        try:
            return await self._reader.readline()
        except ValueError:  # longer than the stream's limit
            raise AgiProtocolError("a line over the stream limit") from None
        except (ConnectionError, OSError):
            self.dead = True
            raise AgiHangup("the socket closed") from None

    # -- the commands a keypad survey uses ------------------------------------------------
    async def answer(self) -> None:
        reply = await self.command(p.answer())
        if reply.number is not None and reply.number < 0:
            self.dead = True
            raise AgiHangup("ANSWER failed")

    async def stream_file(self, sound: str, escape: str, within: float) -> str | None:
        """Play ``sound``: the key that stopped it, or ``None``. A failed playback (a missing
        file: ``result=-1``) is logged and reads as no key."""
        reply = await self.command(p.stream_file(sound, escape), within)
        number = reply.number
        if number is None or number < 0:
            log.warning("agi: sound %r did not play (missing file, or the caller left)", sound)
            return None
        return p.digit_of(number)

    async def wait_for_digit(self, timeout_ms: int, margin: float) -> str | None:
        """One key within ``timeout_ms``, or ``None``."""
        reply = await self.command(p.wait_for_digit(timeout_ms), timeout_ms / 1000 + margin)
        number = reply.number
        if number is None or number < 0:
            self.dead = True
            raise AgiHangup("WAIT FOR DIGIT failed")
        return p.digit_of(number)

    async def get_data(self, timeout_ms: int, max_digits: int, margin: float) -> tuple[str, bool]:
        """Up to ``max_digits`` keys (``#`` ends early): ``(digits, timed_out)``."""
        wait = timeout_ms / 1000 * (max_digits + 1) + margin
        reply = await self.command(p.get_data(timeout_ms, max_digits), wait)
        if reply.result == "-1":
            self.dead = True
            raise AgiHangup("GET DATA failed")
        if any(k not in p.KEYS for k in reply.result):
            raise AgiProtocolError("reply: GET DATA result is not keys")
        return reply.result, reply.timed_out

    async def exec_app(self, application: str, argument: str, within: float) -> None:
        await self.command(p.exec_app(application, argument), within)

    async def hangup(self) -> None:
        """Hang up politely (``HANGUP``); a caller already gone is no error."""
        with contextlib.suppress(AgiHangup):
            await self.command(p.hangup())
        self.dead = True

    async def close(self) -> None:
        """Close the socket (Asterisk's ``AGI()`` then returns to the dialplan)."""
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()
