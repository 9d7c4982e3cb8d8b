"""The one narrow way to act on a PBX: ``originate``, ``redirect``, ``hangup``.

Click-to-dial and the dialer call these; nothing else writes to AMI. Every argument is
validated here (names the field on error) because AMI is a line protocol: a CR/LF smuggled
into a value would inject headers or whole actions. The outcome of an ``Originate`` is not
awaited here: it is sent ``Async: true`` and its ``OriginateResponse`` reaches the tracker like
any other event, so the call record carries the returned ActionID (dialer correlation).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from cti.errors import CtiError, UnavailableError, ValidationError

_TOKEN = re.compile(r"^[\w+*#.:@/\-]{1,200}$")
_CHANNEL = re.compile(r"^[^\r\n\x00]{1,200}$")
_VAR_NAME = re.compile(r"^_{0,2}[A-Za-z][A-Za-z0-9_]{0,63}$")
_ACTION_ID = re.compile(r"^[\w.:@/\-]{1,128}$")
_MAX_VALUE = 1000

ActionValue = str | Sequence[str]


class PbxUnavailableError(UnavailableError):
    """The PBX is not connected (or the connection dropped before the answer)."""

    status = 503
    error_id = "pbx-unavailable"


class AmiActionError(CtiError):
    """Asterisk answered an action with ``Response: Error``."""

    status = 502
    error_id = "pbx-action-failed"


class AmiAuthError(UnavailableError):
    """The PBX refused our username/secret."""

    status = 502
    error_id = "pbx-auth-failed"


def encode_action(action: Mapping[str, ActionValue]) -> bytes:
    """Serialize one action; rejects CR/LF in names or values (header injection)."""
    lines: list[str] = []
    for key, value in action.items():
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if any(c in key or c in item for c in "\r\n") or ":" in key:
                raise ValueError(f"AMI action {action.get('Action')!r}: bad header {key!r}")
            lines.append(f"{key}: {item}\r\n")
    return ("".join(lines) + "\r\n").encode("utf-8")


class ActionSender(Protocol):
    """What the actions need from a connection (:class:`cti.ami.connection.AmiConnection`)."""

    name: str

    async def send_action(self, action: Mapping[str, ActionValue]) -> dict[str, str]: ...


def _check(field: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ValidationError(f"{field}: invalid value {value[:60]!r}", details={"field": field})
    return value


def _check_text(field: str, value: str) -> str:
    if len(value) > _MAX_VALUE or any(c in value for c in "\r\n\x00"):
        raise ValidationError(
            f"{field}: must be one line of at most {_MAX_VALUE} characters",
            details={"field": field},
        )
    return value


async def originate(
    pbx: ActionSender,
    *,
    channel: str,
    context: str | None = None,
    exten: str | None = None,
    priority: int = 1,
    application: str | None = None,
    data: str | None = None,
    caller_id: str | None = None,
    ring_seconds: float = 30.0,
    variables: Mapping[str, str] | None = None,
    account: str | None = None,
    action_id: str | None = None,
) -> str:
    """Start a call (``Async: true``); returns the ActionID its ``OriginateResponse`` will carry.

    Either ``context`` + ``exten`` (+ ``priority``) or ``application`` (+ ``data``).
    ``variables`` become channel variables (``CAMPAIGN`` names the dialer campaign).
    """
    action: dict[str, ActionValue] = {
        "Action": "Originate",
        "Channel": _check("channel", channel, _CHANNEL),
        "Async": "true",
    }
    if application is not None:
        if context is not None or exten is not None:
            raise ValidationError(
                "originate: give either context+exten or application, not both",
                details={"field": "application"},
            )
        action["Application"] = _check("application", application, _TOKEN)
        if data is not None:
            action["Data"] = _check_text("data", data)
    elif context is not None and exten is not None:
        action["Context"] = _check("context", context, _TOKEN)
        action["Exten"] = _check("exten", exten, _TOKEN)
        if not 1 <= priority <= 10_000:
            raise ValidationError("priority: must be 1..10000", details={"field": "priority"})
        action["Priority"] = str(priority)
    else:
        raise ValidationError(
            "originate: context and exten (or application) are required",
            details={"field": "exten"},
        )
    if not 1.0 <= ring_seconds <= 600.0:
        raise ValidationError("ring_seconds: must be 1..600", details={"field": "ring_seconds"})
    action["Timeout"] = str(int(ring_seconds * 1000))
    if caller_id is not None:
        action["CallerID"] = _check_text("caller_id", caller_id)
    if account is not None:
        action["Account"] = _check("account", account, _TOKEN)
    if variables:
        lines = []
        for name, value in variables.items():
            _check(f"variables.{name}", name, _VAR_NAME)
            lines.append(f"{name}={_check_text(f'variables.{name}', value)}")
        action["Variable"] = lines
    action_id = action_id or f"cti-orig-{uuid.uuid4().hex}"
    action["ActionID"] = _check("action_id", action_id, _ACTION_ID)
    await pbx.send_action(action)
    return action_id


async def redirect(
    pbx: ActionSender,
    *,
    channel: str,
    context: str,
    exten: str,
    priority: int = 1,
    extra_channel: str | None = None,
) -> None:
    """Send ``channel`` (and optionally the other leg) to ``exten@context`` (blind transfer)."""
    if not 1 <= priority <= 10_000:
        raise ValidationError("priority: must be 1..10000", details={"field": "priority"})
    action: dict[str, ActionValue] = {
        "Action": "Redirect",
        "Channel": _check("channel", channel, _CHANNEL),
        "Context": _check("context", context, _TOKEN),
        "Exten": _check("exten", exten, _TOKEN),
        "Priority": str(priority),
    }
    if extra_channel is not None:
        action["ExtraChannel"] = _check("extra_channel", extra_channel, _CHANNEL)
        action["ExtraContext"] = action["Context"]
        action["ExtraExten"] = action["Exten"]
        action["ExtraPriority"] = action["Priority"]
    await pbx.send_action(action)


async def hangup(pbx: ActionSender, *, channel: str, cause: int | None = None) -> None:
    """Hang up ``channel`` (optionally with a Q.850 ``cause``)."""
    action: dict[str, ActionValue] = {
        "Action": "Hangup",
        "Channel": _check("channel", channel, _CHANNEL),
    }
    if cause is not None:
        if not 0 <= cause <= 127:
            raise ValidationError("cause: must be a Q.850 cause 0..127", details={"field": "cause"})
        action["Cause"] = str(cause)
    await pbx.send_action(action)
