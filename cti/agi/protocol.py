"""The FastAGI wire protocol as Asterisk 22 speaks it (``res/res_agi.c``), as pure functions.

What Asterisk sends on the socket (``../shared/ami-traces/asterisk22/agi-survey.agi``):

* the variable block: ``agi_network: yes``, ``agi_network_script: survey``, then
  ``setup_env``'s lines (``agi_request``, ``agi_channel``, ``agi_uniqueid``, ``agi_callerid``,
  …, ``agi_arg_1: campaign42``, ``agi_arg_2: ru``), each ``key: value\\n``, ended by an empty
  line;
* one reply per command: ``200 result=<n>[ (<data>)][ key=value…]`` (``200 result=
  (timeout)`` from ``GET DATA`` when nothing was keyed), ``510 Invalid or unknown command``,
  ``511 Command Not Permitted on a dead channel or intercept routine``, ``520 …`` or the
  multi-line ``520-Invalid command syntax.  Proper usage follows:`` … ``520 End of proper
  usage.``;
* ``HANGUP`` on a line of its own when the channel hangs up (``AGISIGHUP`` not ``no``): after
  the reply of the command it interrupted, or between commands.

Nothing here does I/O: :mod:`cti.agi.channel` reads the bytes and hands lines to these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: the line Asterisk sends when the channel hung up
HANGUP_LINE = "HANGUP"
#: every key a caller can press
KEYS = "0123456789*#"

_KEY = re.compile(r"agi_[a-z0-9_]{1,64}")
_SCRIPT = re.compile(r"[A-Za-z0-9_.\-/]{0,128}")
_SOUND = re.compile(r"[A-Za-z0-9_\-./]{1,128}")
_UNIQUEID = re.compile(r"[\w.\-]{1,80}")
_APP = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_REPLY = re.compile(r"(?P<code>\d{3})(?P<sep>[ -])?(?P<rest>.*)")
_RESULT = re.compile(
    r"result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?P<extras>(?: [A-Za-z_]+=\S*)*)\s*"
)


class AgiProtocolError(Exception):
    """The peer broke the protocol: a malformed or oversized variable block, a reply that is
    none of Asterisk's. The message names the place (line number, key) and never the value
    (caller numbers and names are personal data)."""


@dataclass(frozen=True, slots=True)
class EnvLimits:
    """Bounds on the variable block a peer may send (``[agi]`` ``max_env_*``)."""

    max_bytes: int = 16_384
    max_lines: int = 200


@dataclass(frozen=True)
class AgiEnv:
    """The call as Asterisk described it in the variable block.

    ``script`` is the request path (``agi://host:4573/survey`` → ``survey``; a ``?query``
    goes to ``query``), ``args`` the ``AGI()`` arguments after the URL in order
    (``AGI(agi://…/survey,campaign42,ru)`` → ``("campaign42", "ru")``).
    """

    variables: Mapping[str, str]
    script: str
    args: tuple[str, ...] = ()
    query: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """``agi_<name>`` (``""`` when absent)."""
        return self.variables.get(f"agi_{name}", "")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def log_id(self) -> str:
        """The uniqueid as logs show it (``?`` when it is not one: the peer wrote it)."""
        uniqueid = self.uniqueid
        return uniqueid if _UNIQUEID.fullmatch(uniqueid) else "?"

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def callerid(self) -> str:
        """The caller's number (``""`` for Asterisk's ``unknown``)."""
        value = self.get("callerid")
        return "" if value == "unknown" else value

    @property
    def calleridname(self) -> str:
        value = self.get("calleridname")
        return "" if value == "unknown" else value

    @property
    def language(self) -> str:
        """The language asked for (``AGI()``'s second argument), else the channel's."""
        return self.args[1] if len(self.args) > 1 and self.args[1] else self.get("language")

    @property
    def campaign(self) -> str:
        """``AGI()``'s first argument: the campaign (``""`` when none was given)."""
        return self.args[0] if self.args else ""


def parse_env_line(line: str, number: int) -> tuple[str, str] | None:
    """One line of the variable block (without its newline): ``(key, value)``, or ``None``
    for the empty line that ends the block."""
    line = line.rstrip("\r")
    if not line:
        return None
    key, sep, value = line.partition(":")
    if not sep or not _KEY.fullmatch(key):
        raise AgiProtocolError(f"variable block line {number}: not an 'agi_name: value' line")
    if "\x00" in value:
        raise AgiProtocolError(f"variable block line {number} ({key}): NUL in the value")
    return key, value[1:] if value.startswith(" ") else value


def build_env(pairs: Iterable[tuple[str, str]]) -> AgiEnv:
    """The parsed block: checks that it is a FastAGI request and takes its script name and
    arguments."""
    variables: dict[str, str] = {}
    for key, value in pairs:
        if key in variables:
            raise AgiProtocolError(f"variable block: {key} given twice")
        variables[key] = value
    if variables.get("agi_network") != "yes" or "agi_request" not in variables:
        raise AgiProtocolError("variable block: not a FastAGI request (agi_network, agi_request)")
    path, _, query_text = variables.get("agi_network_script", "").partition("?")
    if not _SCRIPT.fullmatch(path):
        raise AgiProtocolError("variable block: agi_network_script is not a script name")
    args: list[str] = []
    while f"agi_arg_{len(args) + 1}" in variables:
        args.append(variables[f"agi_arg_{len(args) + 1}"])
    query: dict[str, str] = {}
    for part in filter(None, query_text.split("&")):
        name, _, value = part.partition("=")
        query[name] = value
    return AgiEnv(MappingProxyType(variables), path.strip("/"), tuple(args), query)


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply: ``code`` (200, 510, 511, 520), and for a 200 its ``result``, the text in
    parentheses (``data``: ``timeout``, a variable's value) and ``key=value`` extras
    (``endpos``)."""

    code: int
    result: str = ""
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def number(self) -> int | None:
        """``result`` as an integer (``None`` when it is not one: ``GET DATA``'s digits are)."""
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_reply(line: str) -> tuple[AgiReply, bool]:
    """A reply line: ``(reply, more)``; ``more`` is true for the first line of a multi-line
    ``520-`` usage reply (its lines go to the caller until ``520 End of proper usage.``)."""
    line = line.rstrip("\r")
    match = _REPLY.fullmatch(line)
    if match is None:
        raise AgiProtocolError("reply: not '<code> …'")
    code, rest = int(match["code"]), match["rest"]
    if code == 200:
        found = _RESULT.fullmatch(rest)
        if found is None:
            raise AgiProtocolError("reply: 200 without result=")
        extras = dict(part.split("=", 1) for part in found["extras"].split())
        return AgiReply(200, found["result"], found["data"], extras, line), False
    if code in (100, 510, 511, 520):
        return AgiReply(code, text=rest.strip()), match["sep"] == "-"
    raise AgiProtocolError(f"reply: unknown code {code}")


def digit_of(result: int) -> str | None:
    """``WAIT FOR DIGIT`` and ``STREAM FILE`` give the key pressed as its ASCII code; 0 is no
    key."""
    if result == 0:
        return None
    key = chr(result) if 0 < result < 128 else ""
    if key not in KEYS and key not in "ABCD":
        raise AgiProtocolError(f"reply: result {result} is not a key")
    return key


# -- commands -------------------------------------------------------------------------


def quote(text: str) -> str:
    """An argument as res_agi's ``parse_args`` reads it back: in double quotes, with ``"``
    and ``\\`` escaped; a line break could end the command, so it is refused."""
    if any(c in text for c in "\r\n\x00"):
        raise ValueError("an AGI argument may not hold a line break or NUL")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_sound(name: str) -> str:
    """A sound file name as ``STREAM FILE`` takes it (no extension, no spaces)."""
    if not _SOUND.fullmatch(name) or ".." in name:
        raise ValueError(f"not a sound file name: {name!r}")
    return name


def check_keys(keys: str) -> str:
    if any(k not in KEYS for k in keys):
        raise ValueError(f"not keypad keys: {keys!r}")
    return keys


def answer() -> str:
    return "ANSWER"


def hangup() -> str:
    return "HANGUP"


def stream_file(sound: str, escape: str) -> str:
    """Play ``sound``; a key in ``escape`` stops it (the reply's result is its ASCII code)."""
    return f"STREAM FILE {check_sound(sound)} {quote(check_keys(escape))}"


def wait_for_digit(timeout_ms: int) -> str:
    return f"WAIT FOR DIGIT {int(timeout_ms)}"


def get_data(timeout_ms: int, max_digits: int, prompt: str = "") -> str:
    """Read up to ``max_digits`` keys, ``#`` ending early; ``timeout_ms`` before the first
    and between keys. An empty ``prompt`` plays nothing (a missing sound file would make
    Asterisk answer ``result=-1`` and read no key at all)."""
    sound = quote(check_sound(prompt)) if prompt else '""'
    return f"GET DATA {sound} {int(timeout_ms)} {int(max_digits)}"


def exec_app(application: str, argument: str) -> str:
    if not _APP.fullmatch(application):
        raise ValueError(f"not a dialplan application name: {application!r}")
    return f"EXEC {application} {quote(argument)}"


def verbose(text: str, level: int = 1) -> str:
    return f"VERBOSE {quote(text)} {int(level)}"
