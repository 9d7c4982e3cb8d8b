"""A survey answered on the caller's keypad: ask, read keys, check, re-ask, save, hang up.

The runner knows surveys only through :class:`KeypadFlow` (what to ask next, where an
answer goes): the survey scripts and their stored answers live elsewhere and adapt to it.
Each answer is handed to :meth:`KeypadFlow.answer` the moment it is valid (the flow saves it
at once), so a caller who hangs up on question 3 leaves questions 1 and 2 stored and the
survey :meth:`finished <KeypadFlow.finish>` as ``partial``.

What the caller hears, per question: its prompt files (``STREAM FILE``, any key stops them
and counts as the first key), then the keys are read (``WAIT FOR DIGIT`` for a digit map,
``GET DATA`` for a number, ``#`` ending it early). A wrong key plays ``invalid`` and asks
again, silence asks again; after ``retries`` more tries an optional question is skipped and a
required one ends the call as partial (with a goodbye). The closing prompts, then
``HANGUP``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from cti.agi.channel import AgiChannel, AgiCommandError, AgiHangup, AgiTimeout
from cti.agi.protocol import KEYS, AgiProtocolError, check_keys, check_sound

log = logging.getLogger(__name__)

KeypadValue = str | int
Status = Literal["complete", "partial"]


@dataclass(frozen=True)
class KeypadQuestion:
    """One question as the keypad asks it.

    Either ``digits`` (a key → the answer's value: ``{"1": "yes", "2": "no"}``) or a number
    keyed in: up to ``max_digits`` digits between ``minimum`` and ``maximum`` (NPS: 0–10,
    two digits). ``tts`` is spoken by the site's TTS application when there are no prompt
    files. ``retries``: tries after the first; ``timeout_seconds``: the wait for a key.
    """

    id: str
    prompts: tuple[str, ...]
    tts: str | None = None
    digits: Mapping[str, str] | None = None
    max_digits: int = 1
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True
    retries: int = 2
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        where = f"keypad question {self.id!r}"
        if not self.id:
            raise ValueError("keypad question: empty id")
        for name in self.prompts:
            try:
                check_sound(name)
            except ValueError as exc:
                raise ValueError(f"{where}: prompts: {exc}") from None
        if not self.prompts and not self.tts:
            raise ValueError(f"{where}: needs prompt files or a tts text")
        if self.digits is not None:
            if not self.digits or any(len(k) != 1 or k not in KEYS for k in self.digits):
                raise ValueError(f"{where}: digits: keys must be single keys of {KEYS}")
            if any(not v for v in self.digits.values()):
                raise ValueError(f"{where}: digits: every key needs a value")
        else:
            if not 1 <= self.max_digits <= 18:
                raise ValueError(f"{where}: max_digits must be 1 … 18")
            low, high = self.minimum, self.maximum
            if low is not None and high is not None and low > high:
                raise ValueError(f"{where}: minimum is above maximum")
        if not 0 <= self.retries <= 10:
            raise ValueError(f"{where}: retries must be 0 … 10")
        if not 0 < self.timeout_seconds <= 60:
            raise ValueError(f"{where}: timeout_seconds must be more than 0, at most 60")


class KeypadFlow(Protocol):
    """One caller's way through one survey (the survey service adapts to this)."""

    async def intro(self) -> tuple[str, ...]:
        """Prompt files played after answering."""
        ...

    async def next(self) -> KeypadQuestion | None:
        """The question to ask now (after the answers so far), or ``None``: the end."""
        ...

    async def answer(self, question_id: str, value: KeypadValue, digits: str) -> None:
        """Store a valid answer now (the keys as pressed go with it)."""
        ...

    async def skip(self, question_id: str) -> None:
        """An optional question got no valid answer: move past it."""
        ...

    async def finish(self, status: Status) -> None:
        """The survey is over: every question answered (``complete``) or not."""
        ...

    async def closing(self) -> tuple[str, ...]:
        """Prompt files played before hanging up on a complete survey."""
        ...


@dataclass(frozen=True)
class KeypadOptions:
    """What the runner plays around the questions, and its deadlines."""

    #: after a wrong key, before asking again (Asterisk's core sound, as app_ivrdemo)
    invalid_prompts: tuple[str, ...] = ("invalid",)
    #: when a required question got no valid answer: the call ends partial
    giveup_prompts: tuple[str, ...] = ("vm-goodbye",)
    #: the dialplan application that speaks ``tts`` texts (``""``: none)
    tts_application: str = ""
    #: seconds one prompt may play
    prompt_timeout: float = 120.0
    #: seconds on top of a key wait before the PBX counts as silent
    margin: float = 10.0
    #: seconds the whole call may take
    max_call_seconds: float = 1800.0
    #: keys that stop a prompt (all: a wrong key must be heard too)
    escape: str = field(default=KEYS)

    def __post_init__(self) -> None:
        for name in (*self.invalid_prompts, *self.giveup_prompts):
            check_sound(name)
        check_keys(self.escape)


def interpret(question: KeypadQuestion, keys: str) -> KeypadValue | None:
    """The answer ``keys`` give to ``question``, or ``None`` when they give none (pure)."""
    if question.digits is not None:
        return question.digits.get(keys) if len(keys) == 1 else None
    if not keys or not keys.isdigit() or len(keys) > question.max_digits:
        return None
    number = int(keys)
    low, high = question.minimum, question.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        return None
    return number


@dataclass
class KeypadResult:
    """How a call went (for the log and the tests)."""

    status: Status = "partial"
    answered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reason: str = ""
    #: the commands sent, in order
    commands: list[str] = field(default_factory=list)


async def run_keypad(agi: AgiChannel, flow: KeypadFlow, options: KeypadOptions) -> KeypadResult:
    """Run one survey call to its end; ``flow.finish`` is called exactly once, whatever
    happens (a hang-up, a silent PBX, a failing flow: ``partial``)."""
    result = KeypadResult()
    finished = False
    try:
        async with asyncio.timeout(options.max_call_seconds):
            await agi.answer()
            await _play(agi, await flow.intro(), options, escape="")
            status, question = await _questions(agi, flow, options, result)
            result.status = status
            finished = True
            await flow.finish(status)
            if status == "complete":
                await _play(agi, await flow.closing(), options, escape="")
            else:
                result.reason = f"no valid answer to {question}"
                await _play(agi, options.giveup_prompts, options, escape="")
            await agi.hangup()
    except AgiHangup as exc:
        result.reason = result.reason or f"hung up: {exc}"
    except (AgiTimeout, TimeoutError) as exc:
        result.reason = f"timed out: {exc or 'max_call_seconds'}"
        log.warning("agi: survey call timed out: %s", exc or "max_call_seconds")
    except (AgiProtocolError, AgiCommandError) as exc:
        result.reason = f"protocol: {exc}"
        log.warning("agi: survey call ended: %s", exc)
    except asyncio.CancelledError:  # the daemon stops: the caller's answers so far stay
        if not finished:
            await _finish_partial(flow, result)
        raise
    except Exception:
        result.reason = "error"
        log.exception("agi: survey call failed")
    if not finished:
        await _finish_partial(flow, result)
    result.commands = list(agi.sent)
    return result


async def _finish_partial(flow: KeypadFlow, result: KeypadResult) -> None:
    result.status = "partial"
    try:
        await flow.finish("partial")
    except Exception:
        log.exception("agi: could not mark the survey partial")


async def _questions(
    agi: AgiChannel, flow: KeypadFlow, options: KeypadOptions, result: KeypadResult
) -> tuple[Status, str]:
    """Ask until the flow has no question left (complete) or a required one fails."""
    while (question := await flow.next()) is not None:
        got = await ask(agi, question, options)
        if got is not None:
            value, keys = got
            await flow.answer(question.id, value, keys)
            result.answered.append(question.id)
        elif question.required:
            return "partial", question.id
        else:
            await flow.skip(question.id)
            result.skipped.append(question.id)
    return "complete", ""


async def ask(
    agi: AgiChannel, question: KeypadQuestion, options: KeypadOptions
) -> tuple[KeypadValue, str] | None:
    """Ask ``question`` up to ``1 + retries`` times: its value and keys, or ``None``."""
    for attempt in range(question.retries + 1):
        keys = await _collect(agi, question, options)
        value = interpret(question, keys)
        if value is not None:
            return value, keys
        if keys and attempt < question.retries:
            await _play(agi, options.invalid_prompts, options, escape="")
    return None


async def _collect(agi: AgiChannel, question: KeypadQuestion, options: KeypadOptions) -> str:
    """Play the prompts (a key stops them) and read the keys: ``""`` for silence."""
    first = await _play(agi, question.prompts, options, escape=options.escape)
    if not question.prompts and question.tts and options.tts_application:
        await agi.exec_app(options.tts_application, question.tts, options.prompt_timeout)
    timeout_ms = int(question.timeout_seconds * 1000)
    if question.digits is not None:
        if first is not None:
            return first
        return await agi.wait_for_digit(timeout_ms, options.margin) or ""
    if first is not None and first not in "0123456789":
        return "" if first == "#" else first
    keyed = first or ""
    left = question.max_digits - len(keyed)
    if left > 0:
        more, _ = await agi.get_data(timeout_ms, left, options.margin)
        keyed += more
    return keyed


async def _play(
    agi: AgiChannel, sounds: tuple[str, ...], options: KeypadOptions, *, escape: str
) -> str | None:
    """Play ``sounds`` in order; the key that stopped one (the rest are not played)."""
    for sound in sounds:
        key = await agi.stream_file(sound, escape, options.prompt_timeout)
        if key is not None:
            return key
    return None
