"""The call log as the API reads it: one call, the search filters, the disposition."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from cti.crm_store.rules.keyset import MAX_CURSOR
from cti.crm_store.rules.periods import day_range
from cti.crm_store.schemas.common import Id, InModel, OutModel, plain_int
from cti.crm_store.schemas.contacts import check_time_zone
from cti.crm_store.schemas.tasks import NoteOut
from cti.crm_store.timeutil import UtcDateTime, aware_only


def _iso_day(value: Any) -> Any:
    """A day as ``YYYY-MM-DD`` text (a query's) or a date; the last day of year 9999 has no
    next midnight, so the range stops a day short of it."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError("must be a day written YYYY-MM-DD")
    if isinstance(value, date) and value >= date.max:
        raise ValueError("is out of range")
    return value


#: a time that says its UTC offset (``Z``, ``+03:00``): a bare local time is ambiguous
AwareDateTime = Annotated[UtcDateTime, BeforeValidator(aware_only)]

Status = Literal["answered", "missed", "abandoned", "busy", "no-answer", "failed"]
DirectionIn = Literal["inbound", "outbound", "internal"]


class CallOut(OutModel):
    id: int
    pbx: str
    linkedid: str
    direction: str
    from_number: str | None
    from_name: str | None
    to_number: str | None
    external_number: str | None
    queue: str | None
    agents_rung: list[str]
    agent: str | None
    agent_user_id: int | None
    status: str
    started_at: UtcDateTime | None
    answered_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    ring_seconds: float | None
    talk_seconds: float | None
    hangup_cause: int | None
    transfers: list[dict[str, Any]]
    originate_action_id: str | None
    originate_variables: dict[str, str] | None
    account: str | None
    campaign: str | None
    recording: str | None
    contact_id: int | None
    partial: bool
    disposition: str | None
    clock: str | None
    answered_by: str | None
    ivr_seconds: float | None
    queue_wait_seconds: float | None
    hold_seconds: float | None


class RingOut(OutModel):
    """One agent's phone ringing for the call."""

    agent: str
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    seconds: float | None
    answered: bool


class TalkOut(OutModel):
    """One agent's part of the call (a transferred call has one per agent)."""

    agent: str
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    seconds: float | None
    hold_seconds: float | None


class CallDetailOut(CallOut):
    """One call with its rings and each agent's part."""

    rings: list[RingOut]
    talks: list[TalkOut]


#: how a listing may be sorted: by start (default newest first) or by talk time
#: (``duration``: answer to end); ties are broken by the call's id, the same way round
CallSort = Literal["-started_at", "started_at", "-duration", "duration"]
MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(plain_int)]
Day = Annotated[date, BeforeValidator(_iso_day)]


class CallFilter(InModel):
    """Which calls: the filters of ``GET /api/calls``, its count and its exports (all
    optional, combined with AND).

    The period is ``from``/``to`` (times with their UTC offset; ``to`` excluded) or
    ``day_from``/``day_to`` (whole days, both included) read in ``tz`` (an IANA zone,
    default UTC), not both. ``number`` is read in any format (the configured region's
    national form, E.164, spaces and dashes) and matches the outside party: the caller of an
    inbound call, the callee of an outbound one.
    """

    since: AwareDateTime | None = Field(default=None, alias="from")
    until: AwareDateTime | None = Field(default=None, alias="to")
    day_from: Day | None = None
    day_to: Day | None = None
    tz: str = Field(default="UTC", max_length=64)
    direction: DirectionIn | None = None
    status: Status | None = None
    agent: str | None = Field(default=None, max_length=32, pattern=r"^[\w.+*#@/\-]+$")
    queue: str | None = Field(default=None, min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=64)
    contact: Id | None = None
    company: Id | None = None
    campaign: str | None = Field(default=None, min_length=1, max_length=80)
    disposition: str | None = Field(default=None, min_length=1, max_length=64)
    pbx: str | None = Field(default=None, min_length=1, max_length=64)

    model_config = InModel.model_config | {"populate_by_name": True}

    @field_validator("number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if value is not None and not any(c.isdigit() for c in value):
            raise ValueError("must contain digits")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value) or "UTC"

    @model_validator(mode="after")
    def _period(self) -> CallFilter:
        if (self.since or self.until) and (self.day_from or self.day_to):
            raise ValueError("give 'from'/'to' or 'day_from'/'day_to', not both")
        if self.since and self.until and self.since > self.until:
            raise ValueError("'from' is after 'to'")
        if self.day_from and self.day_to and self.day_from > self.day_to:
            raise ValueError("'day_from' is after 'day_to'")
        return self

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The period as UTC bounds ``[since, until)`` (None: open on that side)."""
        if self.day_from or self.day_to:
            return day_range(self.day_from, self.day_to, self.tz)
        return self.since, self.until

    def filters(self) -> CallFilter:
        """Only the filters (what a count or an export of this listing takes)."""
        return CallFilter.model_validate(self.model_dump(include=set(CallFilter.model_fields)))


class CallQuery(CallFilter):
    """``GET /api/calls``: the filters, the order and one page (``cursor``: the
    ``next_cursor`` of the page before, with the same filters and sort)."""

    sort: CallSort = "-started_at"
    limit: Limit = 50
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class CallPage(BaseModel):
    """One page of calls; ``next_cursor`` is None on the last page."""

    items: list[CallOut]
    next_cursor: str | None


class CountOut(BaseModel):
    count: int


class ContactSummary(OutModel):
    """The call's contact, as a history line shows it."""

    id: int
    name: str
    company_id: int | None
    company_name: str | None


class CallFull(CallDetailOut):
    """``GET /api/calls/{id}``: the record, its notes (those the caller may see), its
    contact and where its recording is served (None: no recording on file)."""

    notes: list[NoteOut]
    contact: ContactSummary | None
    recording_url: str | None
    #: the surveys taken on this call (operator or keypad), each with its script, version,
    #: status and answers (question id, value, keys pressed, when, by whom)
    survey_answers: list[dict[str, Any]] = Field(default_factory=list)


class DispositionIn(InModel):
    disposition: str | None = Field(max_length=64)

    @field_validator("disposition")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "\r\n\x00")):
            raise ValueError("must be one non-empty line")
        return value


class ExportIn(InModel):
    """``POST /api/exports``: what to export (the calls ``filters`` select, in ``sort``
    order, times in the filter's ``tz``) and as what."""

    kind: Literal["calls"] = "calls"
    format: Literal["csv", "xlsx"] = "csv"
    filters: CallFilter = Field(default_factory=CallFilter)
    sort: CallSort = "-started_at"


class ExportLinkOut(BaseModel):
    """A single-use download link (no ``Authorization`` header needed to fetch it)."""

    url: str
    expires_at: UtcDateTime
