"""The survey/call script format: questions, branching, keypad fields, and its checks.

A script is data (``campaigns/scripts/*.yaml``) so supervisors edit wording and branches
without a release. Beyond pydantic's field checks, :func:`graph_problems` checks the script
as a graph (:func:`cti.surveys.checks.graph_problems`): every ``next``/``goto`` names a
question (or ``end``), every question can be reached from the first, no path loops, and a
condition only looks at questions asked before.
Errors name the file, the field path (``questions[2].next.yes``) and the reason; the
graph checks are :mod:`cti.surveys.checks`.

:attr:`Script.version` is a content hash over the normalised script (the selection rules
``when``/``priority`` left out: they do not change what is asked): every answer is stored
with it, so an edit without a version bump never mixes results.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from cti.agi.protocol import check_sound
from cti.errors import ConfigError, FileAccessError

Kind = Literal["yesno", "single", "multi", "scale", "number", "date", "text"]
#: kinds of the first script format and what they are now
LEGACY_KINDS = {"choice": "single"}
#: the target that ends the survey
END = "end"
Scalar = str | int | float | bool
_ID = r"^[A-Za-z0-9_-]+$"
_DIGIT_KEYS = frozenset("0123456789*#")
#: a range key of a `next` map (``"0-6"``)
RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)$")
#: sound file names as Asterisk's ``STREAM FILE`` takes them (no extension, no spaces)
Prompts = tuple[Annotated[str, AfterValidator(check_sound)], ...]
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Frozen):
    """A test on an earlier answer (``question``) or a contact field (``contact``); every
    test given must hold. A missing answer or field fails every test but ``answered: false``."""

    question: str | None = Field(default=None, pattern=_ID)
    contact: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None
    #: a multiple-choice answer includes this option
    contains: str | None = None
    answered: bool | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        if (self.question is None) == (self.contact is None):
            raise ValueError("give exactly one of question or contact")
        tests = (self.equals, self.not_equals, self.in_, self.lt, self.lte, self.gt, self.gte)
        if all(t is None for t in (*tests, self.contains, self.answered)):
            raise ValueError(
                "give a test: equals, not_equals, in, lt, lte, gt, gte, contains or answered"
            )
        return self


class Branch(_Frozen):
    """Go to ``goto`` when every condition of ``when`` holds (first matching branch wins)."""

    when: tuple[Condition, ...] = Field(min_length=1)
    goto: str = Field(pattern=_ID)

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class Question(_Frozen):
    id: str = Field(min_length=1, max_length=64, pattern=_ID)
    text: str = Field(min_length=1, max_length=2000)
    kind: Kind = "text"
    options: tuple[str, ...] = ()
    required: bool = True
    #: scale and number bounds (a scale needs both)
    min: float | None = None
    max: float | None = None
    #: number: whole numbers only
    integer: bool = False
    #: what a scale measures, for the results (NPS 0–10, CSAT 1–5)
    measure: Literal["nps", "csat"] | None = None
    max_length: int = Field(default=2000, ge=1, le=10000)
    #: the next question: one id (or ``end``) for every answer, or per answer value
    #: (a scale or number also takes ranges such as ``"0-6"``)
    next: str | dict[str, str] | None = None
    #: tried in order after ``next``'s per-value map: the first whose conditions hold
    branches: tuple[Branch, ...] = ()
    #: where to go when nothing above applies (default: the next question in the file)
    default_next: str | None = Field(default=None, pattern=_ID)
    # -- keypad (IVR): what is played and how digits become the answer
    #: sound file names played in order (Asterisk speaks no text without a TTS engine)
    prompt: Prompts = ()
    #: the text for a site's TTS engine, where it has one
    tts: str | None = Field(default=None, max_length=2000)
    #: digit → answer value (``{"1": "yes", "2": "no"}``); without it digits are the number
    digits: dict[str, Scalar] | None = None
    #: numeric entry: how many digits at most (default: those of ``max``)
    max_digits: int | None = Field(default=None, ge=1, le=12)
    retries: int = Field(default=2, ge=0, le=9)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("kind", mode="before")
    @classmethod
    def _legacy_kind(cls, value: Any) -> Any:
        return LEGACY_KINDS.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind in ("single", "multi"):
            if len(self.options) < 2:
                raise ValueError(f"a {self.kind} question needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("options repeat")
        elif self.options:
            raise ValueError(f"options are for single and multi questions, not {self.kind}")
        if self.kind == "scale":
            if self.min is None or self.max is None:
                raise ValueError("a scale needs min and max")
            if self.min != int(self.min) or self.max != int(self.max) or self.max <= self.min:
                raise ValueError("a scale's min and max are whole numbers, min < max")
            if self.max - self.min > 100:
                raise ValueError("a scale has at most 101 points")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        if self.measure == "nps" and (self.kind, self.min, self.max) != ("scale", 0, 10):
            raise ValueError("measure nps is a scale from 0 to 10")
        if self.measure == "csat" and (self.kind, self.min, self.max) != ("scale", 1, 5):
            raise ValueError("measure csat is a scale from 1 to 5")
        if isinstance(self.next, str) and self.default_next is not None:
            raise ValueError("next (one target) and default_next both given: keep one")
        if self.digits is not None:
            bad = sorted(k for k in self.digits if k not in _DIGIT_KEYS)
            if bad:
                raise ValueError(f"digits keys are single keys 0-9, * or #, not {bad}")
        return self

    @property
    def default_target(self) -> str | None:
        """The explicit default (None: the next question in the file)."""
        return self.next if isinstance(self.next, str) else self.default_next

    @property
    def value_map(self) -> dict[str, str]:
        return self.next if isinstance(self.next, dict) else {}

    @property
    def keypad_max_digits(self) -> int:
        """Digits read for numeric entry (a digit map reads one)."""
        if self.digits is not None:
            return 1
        if self.max_digits is not None:
            return self.max_digits
        return len(str(int(self.max))) if self.max is not None else 6


class When(_Frozen):
    has_open_ticket: bool | None = None
    has_open_deal: bool | None = None
    #: ``true``: any dialer call; a string: that campaign only
    campaign: bool | str | None = None
    queue: str | None = None
    match_status: tuple[str, ...] | None = None


class Script(_Frozen):
    name: str = Field(min_length=1, max_length=64)
    title: str = ""
    priority: int = 0
    when: When | None = None
    #: said first, then last; ``{first_name}``-style contact fields are filled in
    intro: str = Field(default="", max_length=4000)
    closing: str = Field(default="", max_length=4000)
    #: on the keypad: played after the call is answered, and before hanging up on a
    #: complete survey (sound files)
    intro_prompt: Prompts = ()
    closing_prompt: Prompts = ()
    questions: tuple[Question, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # to_json adds the version; reading it back (a campaign's stored script) ignores it
        if isinstance(data, dict) and "version" in data:
            data = {k: v for k, v in data.items() if k != "version"}
        return data

    @model_validator(mode="after")
    def _graph(self) -> Script:
        from cti.surveys.checks import graph_problems  # the checks read these models

        problems = graph_problems(self)
        if problems:
            where, reason = problems[0]
            raise PydanticCustomError(
                "script_graph", "{where}: {reason}", {"where": where, "reason": reason}
            )
        return self

    @property
    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @property
    def version(self) -> str:
        """A content hash of what is asked: same text and branches, same version."""
        body = self.model_dump(mode="json", exclude={"priority", "when"}, by_alias=True)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """What the pop, the page and a campaign's stored copy carry (reads back as is)."""
        body = self.model_dump(mode="json", exclude={"priority", "when"}, by_alias=True)
        body["title"] = self.title or self.name
        body["version"] = self.version
        return body


def render(text: str, fields: Mapping[str, Any]) -> str:
    """``text`` with ``{name}`` replaced by the contact's field; a missing or empty field
    becomes nothing (never ``None`` nor the placeholder), and nothing but plain names is
    looked up (no ``{a.b}`` or ``{a[0]}``: a script cannot reach into objects)."""

    def fill(match: re.Match[str]) -> str:
        value = fields.get(match.group(1))
        return "" if value is None else str(value)

    return " ".join(_FIELD.sub(fill, text).split()) if text else ""


def value_key(value: Any) -> str | None:
    """An answer as the key of a ``next`` map: ``yes``/``no``, ``7``, the option."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value
    return None


def key_matches(key: str, value: Any) -> bool:
    """Whether a ``next`` key names ``value``: the same key, or a range ``a-b`` holding it."""
    if value_key(value) == key:
        return True
    match = RANGE.match(key)
    if match and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = float(match.group(1)), float(match.group(2))
        return low <= float(value) <= high
    return False


# -- files -------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"{path}: cannot read it ({reason}): check the file and its permissions"
        raise FileAccessError(msg, details={"file": str(path)}) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {' '.join(str(exc).split())}"
        raise ConfigError(msg, details={"file": str(path)}) from None


def parse_script(data: Any, source: str) -> Script:
    """``data`` validated as a script; a ConfigError names ``source``, the field and why."""
    try:
        return Script.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors(include_url=False)[0]
        ctx = err.get("ctx") or {}
        if err["type"] == "script_graph":
            where, reason = str(ctx["where"]), str(ctx["reason"])
        else:
            where = _dotted(err["loc"]) or "(top)"
            reason = str(err["msg"]).removeprefix("Value error, ")
        msg = f"{source}: {where}: {reason}"
        raise ConfigError(msg, details={"file": source, "key": where, "reason": reason}) from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_script_file(path: Path) -> Script:
    """One script file, validated; a ConfigError names the file, the field path, the reason."""
    data = load_yaml(path)
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return parse_script(data, str(path))
