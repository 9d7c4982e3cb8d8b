"""The keypad side of a survey: a script's questions as the caller's keypad answers them,
each answer saved through :class:`~cti.surveys.service.SurveyService` the moment it is given.

:func:`keypad_flows` is what the daemon's FastAGI server (:mod:`cti.agi`) asks for each
call: Asterisk's ``AGI(agi://HOST:4573/SCRIPT,CAMPAIGN,LANGUAGE,LINKEDID,ATTEMPT)`` names the
script in the path; the arguments, all optional, name the campaign (its stored script wins
when the names agree), the language, the call (``${CHANNEL(linkedid)}``: the key the call
record is stored under; without it the AGI channel's own uniqueid, which is the call's on
the channel that started it) and the dialer's attempt (``${CTI_ATTEMPT}``: the survey then
carries the lead's list and contact). Which question comes next follows the script's
branches (:mod:`cti.surveys.flow`); an optional question the caller could not answer is
saved as no answer, so the walk moves past it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from cti.agi.keypad import KeypadFlow, KeypadQuestion, KeypadValue, Status
from cti.agi.protocol import AgiEnv
from cti.agi.server import FlowFactory
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.store import Store
from cti.errors import ConfigError
from cti.surveys import flow
from cti.surveys.script import Question, Script, parse_script
from cti.surveys.service import SurveyService

log = logging.getLogger(__name__)

#: the script of a name as the daemon knows it now (the screen-pop's script book)
ScriptLookup = Callable[[str], Script | None]
_LINKEDID = re.compile(r"^[0-9]{1,20}\.[0-9]{1,10}$")
_ATTEMPT = re.compile(r"^[0-9]{1,9}$")
#: keys a single-choice question's options get, in order
_OPTION_KEYS = "123456789"


def keypad_question(question: Question) -> KeypadQuestion | None:
    """``question`` as the keypad asks it, or ``None`` when keys cannot answer it: multiple
    choice, a date, free text, a fractional number, or no prompt to play (neither sound files
    nor a TTS text). A yes/no question without a digit map is 1 yes, 2 no; a single choice
    without one numbers its options 1…9."""
    if not question.prompt and not question.tts:
        return None
    if question.digits is not None:
        return _asked(question, digits={k: str(v) for k, v in question.digits.items()})
    if question.kind == "yesno":
        return _asked(question, digits={"1": "yes", "2": "no"})
    if question.kind == "single":
        if len(question.options) > len(_OPTION_KEYS):
            return None
        keys = _OPTION_KEYS[: len(question.options)]
        return _asked(question, digits=dict(zip(keys, question.options, strict=True)))
    if question.kind == "scale" or (question.kind == "number" and question.integer):
        return _asked(
            question,
            max_digits=question.keypad_max_digits,
            minimum=int(question.min) if question.min is not None else None,
            maximum=int(question.max) if question.max is not None else None,
        )
    return None


def _asked(
    question: Question,
    *,
    digits: dict[str, str] | None = None,
    max_digits: int = 1,
    minimum: int | None = None,
    maximum: int | None = None,
) -> KeypadQuestion:
    return KeypadQuestion(
        id=question.id,
        prompts=question.prompt,
        tts=question.tts,
        digits=digits,
        max_digits=max_digits,
        minimum=minimum,
        maximum=maximum,
        required=question.required,
        retries=question.retries,
        timeout_seconds=question.timeout_seconds,
    )


@dataclass
class SurveyKeypadFlow:
    """One caller's walk through one script, saved as it goes (a :class:`KeypadFlow`)."""

    service: SurveyService
    response_id: int
    script: Script

    async def intro(self) -> tuple[str, ...]:
        return self.script.intro_prompt

    async def closing(self) -> tuple[str, ...]:
        return self.script.closing_prompt

    async def next(self) -> KeypadQuestion | None:
        question = (await self.service.current(self.response_id)).next_question
        while question is not None:
            asked = keypad_question(question)
            if asked is not None:
                return asked
            if question.required:  # keys cannot answer it: the survey ends here, partial
                log.warning(
                    "agi: script %s: question %r cannot be answered on the keypad",
                    self.script.name,
                    question.id,
                )
                return None
            state = await self.service.answer(self.response_id, question.id, None, by="keypad")
            question = state.next_question
        return None

    async def answer(self, question_id: str, value: KeypadValue, digits: str) -> None:
        question = self.script.by_id[question_id]
        given = flow.from_digits(question, digits)
        await self.service.answer(self.response_id, question_id, given, raw=digits, by="keypad")

    async def skip(self, question_id: str) -> None:
        await self.service.answer(self.response_id, question_id, None, by="keypad")

    async def finish(self, status: Status) -> None:
        """``complete`` only when the script's path is done (a hang-up after the last
        answer, during the goodbye, still completes it)."""
        state = await self.service.current(self.response_id)
        await self.service.finish(self.response_id, "complete" if state.done else "partial")


def keypad_flows(store: Store, service: SurveyService, scripts: ScriptLookup) -> FlowFactory:
    """The FastAGI server's flow factory: the script named in the AGI URL (the campaign's
    stored one when the campaign argument names a campaign with that script), a response
    started (or resumed: Asterisk may run the AGI again on the same call) for the call."""
    campaigns = CampaignRepo(store)

    async def factory(name: str, env: AgiEnv) -> KeypadFlow | None:
        args = (*env.args, "", "", "", "")
        campaign_name, _language, linkedid, attempt = args[:4]
        campaign = await campaigns.by_name(campaign_name) if campaign_name else None
        script: Script | None = None
        if campaign is not None and campaign.script and campaign.script.get("name") == name:
            try:
                script = parse_script(campaign.script, f"campaign {campaign.name!r}'s script")
            except ConfigError as exc:  # stored by an older build: today's checks refuse it
                log.warning("agi: %s", exc.message)
        script = script or scripts(name)
        if script is None:
            return None
        key = linkedid if _LINKEDID.fullmatch(linkedid) else env.uniqueid
        if not _LINKEDID.fullmatch(key):
            log.warning("agi: script %s: the call has no uniqueid to file answers under", name)
            return None
        response_id = await service.start(
            call_key=key,
            script=script,
            mode="keypad",
            campaign_id=campaign.id if campaign is not None else None,
            attempt_id=int(attempt) if _ATTEMPT.fullmatch(attempt) else None,
        )
        return SurveyKeypadFlow(service, response_id, script)

    return factory
