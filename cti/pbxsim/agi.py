"""Asterisk 22's end of a FastAGI socket: what ``AGI(agi://HOST:PORT/SCRIPT,ARGS)`` does.

It connects, sends the variable block in the shape of the recording
(``../shared/ami-traces/asterisk22/agi-survey.agi``: ``agi_network``,
``agi_network_script``, then ``setup_env``'s lines and ``agi_arg_N``, an empty line) and
answers each command as ``res/res_agi.c`` does, reading the arguments with its
``parse_args`` rules; the caller is a respondent (:mod:`cti.pbxsim.respondents`):

* ``ANSWER``: ``200 result=0``;
* ``STREAM FILE f "keys"``: ``200 result=0 endpos=N`` played through, ``result=<ASCII>``
  when a key stopped it, ``result=-1`` when the caller hung up (then ``HANGUP``);
* ``WAIT FOR DIGIT ms``: ``200 result=<ASCII>``, ``200 result=0`` (timeout), ``result=-1``;
* ``GET DATA f ms max``: ``200 result=<keys>`` (``#`` or ``max`` ended it),
  ``200 result=<keys> (timeout)``, ``200 result=-1``;
* ``HANGUP``: ``200 result=1``, then ``HANGUP`` (the channel is gone);
* ``EXEC``, ``VERBOSE``, ``SET VARIABLE``, ``GET VARIABLE``, ``NOOP``: as Asterisk, also on
  a dead channel; any other command there: ``511 Command Not Permitted on a dead channel or
  intercept routine``;
* anything unknown: ``510 Invalid or unknown command``; wrong arguments: the ``520-`` usage.

Waits run in simulated time (``time_scale``). ``on_start`` sees each command as it
arrives (``AGIExecStart``), ``on_command`` sees each command with its
result code and text as Asterisk publishes them in ``AGIExecEnd`` (``200 Success``, ``-1
Failure``, ``510``, ``511``, ``520 Usage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cti.pbxsim.respondents import Caller, HangUp, Pause, Press

log = logging.getLogger(__name__)

#: samples per second of a prompt's ``endpos`` (8 kHz, as the lab's ulaw/gsm files)
RATE = 8000
#: commands res_agi lets run on a dead channel (its table's ``dead`` column)
DEAD_OK = frozenset(
    {"exec", "get full variable", "get variable", "noop", "set variable", "verbose",
     "database del", "database deltree", "database get", "database put", "asyncagi break"}
)  # fmt: skip
#: every command this simulator knows (longest first: ``GET FULL VARIABLE`` before ``GET``)
KNOWN = (
    "get full variable", "stream file", "wait for digit", "get data", "get variable",
    "set variable", "say number", "answer", "hangup", "exec", "verbose", "noop",
)  # fmt: skip
USAGE = {
    "stream file": " Usage: STREAM FILE <filename> <escape_digits> [sample offset]",
    "wait for digit": " Usage: WAIT FOR DIGIT <timeout>",
    "get data": " Usage: GET DATA <file to be streamed> [timeout] [max digits]",
}
Report = Callable[[str, int, str], None]


@dataclass(frozen=True)
class AgiTarget:
    """Where the simulated PBX's ``AGI()`` connects, and what the survey extension passes:
    ``AGI(agi://host:port/script,args…)``."""

    host: str = "127.0.0.1"
    port: int = 4573
    script: str = "survey"
    args: tuple[str, ...] = ("campaign42", "ru")

    @property
    def url(self) -> str:
        return f"agi://{self.host}:{self.port}/{self.script}"

    @classmethod
    def parse(cls, value: str) -> AgiTarget:
        """``agi://HOST[:PORT]/SCRIPT[,ARG…]``, as written in the dialplan's ``AGI()``."""
        url, *args = value.split(",")
        parts = urlsplit(url)
        if parts.scheme != "agi" or not parts.hostname:
            raise ValueError(f"{value!r}: expected agi://HOST[:PORT]/SCRIPT[,ARG,…]")
        try:
            port = parts.port or 4573
        except ValueError:
            raise ValueError(f"{value!r}: the port is not a number") from None
        return cls(parts.hostname, port, parts.path.strip("/"), tuple(args))


@dataclass(frozen=True)
class ChannelInfo:
    """The channel running ``AGI()``, as ``setup_env`` describes it."""

    channel: str
    uniqueid: str
    callerid: str = "unknown"
    calleridname: str = "unknown"
    context: str = "from-trunk"
    extension: str = "600"
    priority: int = 2
    language: str = "en"
    accountcode: str = ""
    threadid: int = 140556957202112
    version: str = "22.10.1"


def env_block(target: AgiTarget, info: ChannelInfo) -> bytes:
    """The variable block, line for line as Asterisk 22 writes it."""
    tech = info.channel.split("/", 1)[0]
    lines = ["agi_network: yes"]
    if target.script:
        lines.append(f"agi_network_script: {target.script}")
    lines += [
        f"agi_request: {target.url}",
        f"agi_channel: {info.channel}",
        f"agi_language: {info.language}",
        f"agi_type: {tech}",
        f"agi_uniqueid: {info.uniqueid}",
        f"agi_version: {info.version}",
        f"agi_callerid: {info.callerid}",
        f"agi_calleridname: {info.calleridname}",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        "agi_dnid: unknown",
        "agi_rdnis: unknown",
        f"agi_context: {info.context}",
        f"agi_extension: {info.extension}",
        f"agi_priority: {info.priority}",
        "agi_enhanced: 0.0",
        f"agi_accountcode: {info.accountcode}",
        f"agi_threadid: {info.threadid}",
    ]
    lines += [f"agi_arg_{n}: {arg}" for n, arg in enumerate(target.args, 1)]
    return ("\n".join(lines) + "\n\n").encode()


def parse_args(line: str) -> list[str]:
    """res_agi's ``parse_args``: spaces split, double quotes group, backslash escapes."""
    args: list[str] = []
    cur: list[str] | None = None
    quoted = escaped = False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and cur is None:
                cur = []
            continue
        if ch in " \t" and not quoted and not escaped:
            if cur is not None:
                args.append("".join(cur))
                cur = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if cur is None:
            cur = []
        cur.append(ch)
        escaped = False
    if cur is not None:
        args.append("".join(cur))
    return args


@dataclass
class AgiSession:
    """How one AGI run went (the caller's view): the commands and replies, in order."""

    exchanged: list[tuple[str, str]] = field(default_factory=list)
    hung_up: bool = False
    #: the caller hung up (not the server's ``HANGUP``)
    caller_hung_up: bool = False
    #: the FastAGI server could not be reached (Asterisk: ``AGISTATUS=FAILURE`` at once)
    failed: bool = False
    #: a command failed on the live channel (a missing sound file): ``AGISTATUS=FAILURE``
    #: when the server closes the socket, as res_agi's ``run_agi`` keeps that status
    command_failed: bool = False

    @property
    def commands(self) -> list[str]:
        return [command for command, _ in self.exchanged]


class AsteriskAgi:
    """One ``AGI()`` run of a channel against a FastAGI server."""

    def __init__(
        self,
        target: AgiTarget,
        info: ChannelInfo,
        caller: Caller,
        *,
        time_scale: float = 1.0,
        prompt_seconds: float | Mapping[str, float] = 2.0,
        on_start: Callable[[str], None] | None = None,
        on_command: Report | None = None,
        variables: Mapping[str, str] | None = None,
        sounds: frozenset[str] | None = None,
    ) -> None:
        self.target = target
        self.info = info
        self.caller = caller
        self.time_scale = time_scale
        self.prompt_seconds = prompt_seconds
        self.on_start = on_start
        self.on_command = on_command
        #: channel variables (``GET VARIABLE``, ``${…}`` in ``GET FULL VARIABLE``)
        self.variables = {
            "CHANNEL": info.channel,
            "CALLERID(num)": info.callerid,
            "CALLERID(name)": info.calleridname,
            "CALLERID(all)": f'"{info.calleridname}" <{info.callerid}>',
            **(variables or {}),
        }
        #: the sound files the PBX has (``None``: all; the recorded lab has none)
        self.sounds = sounds
        self.session = AgiSession()
        self._typed = ""  # keys pressed ahead (after the one that stopped a prompt)
        self._last_sound: str | None = None
        self._sighup_sent = False

    async def run(self) -> AgiSession:
        """Connect, send the block, answer commands until the server closes the socket."""
        try:
            reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
        except OSError as exc:
            log.warning("pbxsim: FastAGI %s unreachable: %s", self.target.url, exc)
            self.session.failed = True
            return self.session
        try:
            writer.write(env_block(self.target, self.info))
            await writer.drain()
            while line := await reader.readline():
                command = line.decode("utf-8", errors="replace").rstrip("\r\n")
                reply = await self._handle(command)
                self.session.exchanged.append((command, reply))
                writer.write(reply.encode())
                if self.session.hung_up and not self._sighup_sent:
                    writer.write(b"HANGUP\n")  # AGISIGHUP: the channel is gone
                    self._sighup_sent = True
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server went away: AGI() returns
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        return self.session

    async def _handle(self, line: str) -> str:
        args = parse_args(line)
        words = [a.lower() for a in args]
        name = next((k for k in KNOWN if words[: len(k.split())] == k.split()), None)
        if self.on_start is not None:
            self.on_start(line)
        if name is None:
            self._report(line, 510, "Invalid or unknown command")
            return "510 Invalid or unknown command\n"
        if self.session.hung_up and name not in DEAD_OK:
            text = "Command Not Permitted on a dead channel or intercept routine"
            self._report(line, 511, text)
            return f"511 {text}\n"
        reply = await self._run(name, args)
        if reply is None:
            self._report(line, 520, "Usage")
            head = "520-Invalid command syntax.  Proper usage follows:"
            return f"{head}\n{USAGE[name]}\n520 End of proper usage.\n"
        code = -1 if " result=-1" in reply else 200
        if code < 0 and not self.session.hung_up:
            self.session.command_failed = True
        self._report(line, code, "Failure" if code < 0 else "Success")
        return reply

    def _report(self, line: str, code: int, text: str) -> None:
        if self.on_command is not None:
            self.on_command(line, code, text)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.time_scale)

    def _prompt_length(self, sound: str) -> float:
        if isinstance(self.prompt_seconds, Mapping):
            return self.prompt_seconds.get(sound, 2.0)
        return self.prompt_seconds

    async def _run(self, name: str, args: list[str]) -> str | None:
        """The reply to a known command (``None``: wrong arguments, a 520)."""
        if name == "answer":
            return "200 result=0\n"
        if name == "hangup":
            self.session.hung_up = True
            return "200 result=1\n"
        if name == "stream file":
            if not 4 <= len(args) <= 5:
                return None
            return await self._stream(args[2], args[3])
        if name == "wait for digit":
            if len(args) != 4 or not args[3].lstrip("-").isdigit():
                return None
            return await self._wait_digit(int(args[3]))
        if name == "get data":
            if len(args) < 3:
                return None
            timeout = int(args[3]) if len(args) > 3 and args[3].isdigit() else 0
            most = int(args[4]) if len(args) > 4 and args[4].isdigit() else 1024
            return await self._get_data(args[2], timeout or 6000, most)
        if name == "set variable":
            if len(args) != 4:
                return None
            self.variables[args[2]] = args[3]
            return "200 result=1\n"
        if name == "get variable":
            value = self.variables.get(args[2]) if len(args) == 3 else None
            return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"
        if name == "get full variable":
            if len(args) < 4:
                return None
            expanded = re.sub(r"\$\{([^}]*)\}", lambda m: self.variables.get(m[1], ""), args[3])
            return f"200 result=1 ({expanded})\n"
        if name == "verbose":
            return "200 result=1\n"
        if name == "say number":
            return "200 result=0\n" if self.sounds is None else "200 result=-1\n"
        return "200 result=0\n"  # exec, noop

    def _hang_up(self) -> None:
        self.session.hung_up = self.session.caller_hung_up = True

    async def _stream(self, sound: str, escape: str) -> str:
        length = self._prompt_length(sound)
        self._last_sound = sound
        if self.sounds is not None and sound not in self.sounds:
            return "200 result=-1 endpos=0\n"  # ast_openstream failed: nothing played
        early = self.caller.during_prompt(sound) if escape else None
        if isinstance(early, HangUp):
            await self._sleep(length / 2)
            self._hang_up()
            return f"200 result=-1 endpos={int(length / 2 * RATE)}\n"
        if isinstance(early, Press) and early.keys and early.keys[0] in escape:
            await self._sleep(length / 2)
            self._typed = early.keys[1:]
            return f"200 result={ord(early.keys[0])} endpos={int(length / 2 * RATE)}\n"
        await self._sleep(length)
        return f"200 result=0 endpos={int(length * RATE)}\n"

    async def _wait_digit(self, timeout_ms: int) -> str:
        if self._typed:
            key, self._typed = self._typed[0], self._typed[1:]
            return f"200 result={ord(key)}\n"
        action = self.caller.keys(self._last_sound, 1)
        if isinstance(action, HangUp):
            await self._sleep(timeout_ms / 2000)
            self._hang_up()
            return "200 result=-1\n"
        if isinstance(action, Pause) or not action.keys:
            await self._sleep(timeout_ms / 1000)
            return "200 result=0\n"
        await self._sleep(min(1.0, timeout_ms / 2000))
        return f"200 result={ord(action.keys[0])}\n"

    async def _get_data(self, prompt: str, timeout_ms: int, most: int) -> str:
        if prompt and self.sounds is not None and prompt not in self.sounds:
            return "200 result=-1\n"  # ast_app_getdata_full: the prompt did not open
        if prompt:
            await self._stream(prompt, "")
        typed, self._typed = self._typed, ""
        if not typed:
            action = self.caller.keys(self._last_sound, most)
            if isinstance(action, HangUp):
                await self._sleep(timeout_ms / 2000)
                self._hang_up()
                return "200 result=-1\n"
            typed = action.keys if isinstance(action, Press) else ""
        keys = ""
        for key in typed:
            if key == "#":
                return f"200 result={keys}\n"
            keys += key
            if len(keys) >= most:
                return f"200 result={keys}\n"
        await self._sleep(timeout_ms / 1000)
        return f"200 result={keys} (timeout)\n"
