"""Campaign files (``campaigns/*.yaml``): the schema, and loading one with errors that name
the file, the field path and the reason.

A file is read whole and validated before anything is stored (``cti campaign load``), so a
bad file changes nothing. After loading, the database is the source of truth: the file is
only how a supervisor writes a campaign down (and keeps it in version control).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from cti.crm_store.phones import normalize
from cti.errors import FileAccessError, ValidationError

Mode = Literal["preview", "progressive", "predictive"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: outcomes a retry delay can be set for (``answered`` closes or follows its disposition;
#: ``invalid`` never retries: the number does not exist)
RetryOutcome = Literal["busy", "no-answer", "congestion", "failed", "abandoned", "machine"]
RETRY_OUTCOMES: tuple[RetryOutcome, ...] = (
    "busy",
    "no-answer",
    "congestion",
    "failed",
    "abandoned",
    "machine",
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def _seconds(value: Any) -> Any:
    """``90``, ``"90s"``, ``"10m"``, ``"2h"``, ``"3d"`` → seconds (a float)."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 90s, 10m, 2h or 3d")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNIT[m.group(2)]
    raise ValueError("a duration such as 90s, 10m, 2h or 3d")


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0, le=90 * 86400)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Window(_Spec):
    """Hours on some weekdays, in the contact's local time (``to`` is not included)."""

    days: tuple[Weekday, ...] = WEEKDAYS[:5]
    start: time = Field(alias="from")
    end: time = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("'to' must be later than 'from' (a window cannot pass midnight)")
        if not self.days:
            raise ValueError("days: name at least one weekday")
        return self


class Connect(_Spec):
    """Where an answered call goes, and how cti knows that no agent took it.

    The Originate runs ``context``/``exten`` once the person answers. With ``queue`` that
    dialplan runs ``Queue(${CTI_QUEUE},,,,${CTI_CONNECT_LIMIT})``: the queue picks the agent
    among the campaign's agents (cti adds and pauses them as queue members), and when it
    gives up, the dialplan plays the abandon message. Without ``queue`` the site's dialplan
    picks the agent. Either way cti calls an answered attempt **abandoned** when no agent's
    talk starts within ``limit_seconds`` of the answer (the call record says so).
    """

    context: str = Field(default="cti-campaign", pattern=r"^[\w.\-]{1,79}$")
    exten: str = Field(default="s", pattern=r"^[\w+*#]{1,40}$")
    queue: str | None = Field(default=None, pattern=r"^[\w.\-]{1,79}$")
    limit_seconds: float = Field(default=2.0, gt=0, le=10)
    #: the recorded message the dialplan plays to an abandoned person (``CTI_ABANDON_MESSAGE``)
    abandon_message: str = Field(default="cti-abandoned", pattern=r"^[\w/.\-]{1,200}$")


class Pacing(_Spec):
    """Predictive pacing: calls per free agent, adapted to keep abandons under the cap."""

    initial_ratio: float = Field(default=1.5, ge=1, le=10)
    max_ratio: float = Field(default=4.0, ge=1, le=20)
    #: the rate the controller aims for, under ``abandon_cap_percent``
    target_abandon_percent: float = Field(default=2.0, gt=0, le=100)
    #: how far back the answer rate and abandons are measured (minutes)
    window_minutes: float = Field(default=10.0, ge=1, le=240)


class Disposition(_Spec):
    """What an operator sets after a call: ``close`` ends the contact's part in the campaign,
    ``dnc`` also adds the number to a do-not-call list, ``retry`` dials again after a delay."""

    name: str = Field(pattern=_NAME)
    title: str = ""
    close: bool = True
    dnc: Literal["campaign", "global"] | None = None
    retry_after: Seconds | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Disposition:
        if self.retry_after is not None and self.close:
            raise ValueError("retry_after needs close: false (a closed contact is not redialled)")
        if self.dnc is not None and not self.close:
            raise ValueError("dnc needs close: true (a do-not-call number is not redialled)")
        return self


def _default_dispositions() -> tuple[Disposition, ...]:
    return (
        Disposition(name="completed", title="Completed"),
        Disposition(name="not-interested", title="Not interested"),
        Disposition(name="wrong-number", title="Wrong number"),
        Disposition(name="do-not-call", title="Asked not to be called", dnc="global"),
        Disposition(name="call-back", title="Call back later", close=False, retry_after=86400),
    )


def _default_retry() -> dict[RetryOutcome, float]:
    return {
        "busy": 600.0,
        "no-answer": 7200.0,
        "congestion": 1800.0,
        "failed": 3600.0,
        "abandoned": 72 * 3600.0,
        "machine": 4 * 3600.0,
    }


class CampaignSpec(_Spec):
    """One campaign, as its file writes it. Every duration takes ``90s``, ``10m``, ``2h``…"""

    name: str = Field(pattern=_NAME)
    title: str = Field(default="", max_length=200)
    #: the number the called person sees, and can call back (E.164)
    caller_id: str
    #: the PBX to dial on (a ``[pbx.NAME]`` of the settings); empty: the first connected one
    pbx: str | None = None
    #: the outbound channel; ``{number}`` is the number as ``number_format`` writes it
    route: str = Field(pattern=r"^[^\r\n\x00{}]*\{number\}[^\r\n\x00{}]*$", max_length=200)
    number_format: Literal["e164-digits", "e164", "national"] = "e164-digits"
    connect: Connect = Connect()
    mode: Mode = "progressive"
    pacing: Pacing = Pacing()
    #: abandoned calls (answered, no agent within the connect limit) as a share of the calls
    #: a person answered, per campaign over any 24 h and 30 days: at most this (Ofcom, FCC: 3)
    abandon_cap_percent: float = Field(default=3.0, gt=0, le=100)
    windows: tuple[Window, ...] = (Window.model_validate({"from": "09:00", "to": "20:00"}),)
    #: the zone for a number that maps to several and whose contact has none; empty: the
    #: window must be open in all of the number's zones
    default_time_zone: str | None = None
    #: how long a number rings before the attempt is given up (at least 15 s: the rules)
    ring_seconds: Seconds = Field(default=20.0, ge=15, le=120)
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry: dict[RetryOutcome, Seconds] = Field(default_factory=_default_retry)
    #: calls up at once for this campaign, all modes
    max_channels: int = Field(default=10, ge=1, le=1000)
    #: a wrap-up left open this long ends by itself (without a disposition)
    wrap_up_seconds: Seconds = Field(default=60.0, ge=0, le=3600)
    #: the route runs answering-machine detection and sets ``AMDSTATUS``
    amd: bool = False
    dispositions: tuple[Disposition, ...] = Field(default_factory=_default_dispositions)
    #: the call script operators see (``campaigns/scripts/<script>.yaml``)
    script: str | None = Field(default=None, pattern=_NAME)

    @field_validator("caller_id")
    @classmethod
    def _callable_back(cls, value: str) -> str:
        e164 = normalize(value, "ZZ") if value.startswith("+") else None
        if e164 is None:
            raise ValueError("a full number with its country code (+…) that can be called back")
        return e164

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Europe/Moscow)") from None
        return value

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_defaults(cls, value: Any) -> Any:
        """A file names only the delays it changes; the rest keep their defaults."""
        if isinstance(value, dict):
            return {**_default_retry(), **value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        names = [d.name for d in self.dispositions]
        if len(set(names)) != len(names):
            raise ValueError("dispositions: each name once")
        if not self.windows:
            raise ValueError("windows: at least one call window")
        if self.pacing.initial_ratio > self.pacing.max_ratio:
            raise ValueError("pacing: initial_ratio above max_ratio")
        if self.pacing.target_abandon_percent > self.abandon_cap_percent:
            raise ValueError("pacing: target_abandon_percent above abandon_cap_percent")
        return self

    def disposition(self, name: str) -> Disposition | None:
        return next((d for d in self.dispositions if d.name == name), None)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def parse_campaign(data: Any, source: str) -> CampaignSpec:
    """Validate parsed YAML; a ValidationError names ``source``, the field path and why."""
    if not isinstance(data, dict):
        raise ValidationError(
            f"{source}: a campaign file is a mapping of keys (name, caller_id, route, …)",
            details={"file": source, "field": ""},
        )
    try:
        return CampaignSpec.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p != "[key]" and not str(p).startswith("function-"))
        where = _where(loc)
        reason = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ValidationError(
            f"{source}: {where}: {reason}{more}",
            details={"file": source, "field": where, "errors": len(exc.errors())},
        ) from None


def read_campaign_file(path: Path) -> tuple[CampaignSpec, str]:
    """The campaign in ``path`` and the file's text (kept with the version it becomes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileAccessError(
            f"{path}: no such campaign file", details={"file": str(path)}
        ) from None
    except OSError as exc:
        raise FileAccessError(
            f"{path}: cannot read: {exc.strerror or exc}", details={"file": str(path)}
        ) from None
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path}: not UTF-8 text: {exc.reason}", details={"file": str(path)}
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(
            f"{path}: {where}not valid YAML: {problem}", details={"file": str(path)}
        ) from None
    return parse_campaign(data, str(path)), text
