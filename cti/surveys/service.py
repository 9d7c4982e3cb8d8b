"""``SurveyService``: start or resume a call's survey, save each answer at once, finish it.

The operator page (:mod:`cti.surveys.http`) and the keypad runner (FastAGI) both drive a
survey through this one API. A response is asked under the script version it started with:
its definition is stored by content hash at start, and every later step reads it back from
the store, so a script edited mid-call, a reload or a daemon restart continues the same
questions. The walk itself is :mod:`cti.surveys.flow` (pure). A changed answer that re-routes the
survey deletes the answers left off the new path: what is stored is always the path taken
(the results and the CSV count exactly that, whatever the contact's fields become later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from cti.crm_store.repos.surveys import SurveyRepo
from cti.crm_store.schemas.surveys import AnswerOut, Mode, ResponseOut
from cti.crm_store.store import Store
from cti.errors import ConflictError, NotFoundError, ValidationError
from cti.surveys import flow
from cti.surveys.script import Question, Script, render

Finish = Literal["complete", "partial"]
#: parsed script versions (a version is a content hash: it never changes), oldest first
_VERSIONS: dict[str, Script] = {}
_VERSIONS_KEPT = 256


@dataclass(frozen=True)
class SurveyState:
    """A response as it stands: the answers on its path, the question to ask next."""

    response: ResponseOut
    script: Script
    #: the answers on the path the survey took, in the order asked
    answers: list[AnswerOut]
    next_question: Question | None
    contact: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.next_question is None

    def to_json(self) -> dict[str, Any]:
        """What the operator page and the supervisors' feed get."""
        nxt = self.next_question
        return {
            "response": self.response.model_dump(mode="json"),
            "script": self.script.to_json(),
            "intro": render(self.script.intro, self.contact),
            "closing": render(self.script.closing, self.contact),
            "answers": [a.model_dump(mode="json") for a in self.answers],
            "next": None if nxt is None else nxt.model_dump(mode="json", by_alias=True),
            "done": self.done,
        }


#: told of each change (a start, an answer, a finish): the supervisors' live feed
Listener = Callable[[str, SurveyState], None]


class SurveyService:
    def __init__(self, store: Store, *, on_change: Listener | None = None) -> None:
        self.repo = SurveyRepo(store)
        self.on_change = on_change

    async def start(
        self,
        *,
        call_key: str,
        script: Script,
        mode: Mode,
        campaign_id: int | None = None,
        attempt_id: int | None = None,
        contact_id: int | None = None,
        agent: str | None = None,
        agent_user_id: int | None = None,
        pbx: str | None = None,
    ) -> int:
        """The response id of this call's survey with ``script``: a new one, or the one
        already started (a reload, a restart, a second node resume it, never a second row)."""
        if not call_key or len(call_key) > 64:
            raise ValidationError(
                "call_key: 1 to 64 characters", details={"fields": {"call_key": "1 to 64"}}
            )
        await self.repo.save_script(script.version, script.name, script.to_json())
        response, made = await self.repo.start(
            {
                "call_key": call_key,
                "pbx": pbx,
                "script_name": script.name,
                "script_version": script.version,
                "mode": mode,
                "campaign_id": campaign_id,
                "attempt_id": attempt_id,
                "contact_id": contact_id,
                "agent": agent,
                "agent_user_id": agent_user_id,
            }
        )
        if made:
            self._tell("survey.started", await self._state(response))
        return response.id

    async def answer(
        self,
        response_id: int,
        question_id: str,
        value: Any,
        *,
        raw: str | None = None,
        by: str | None = None,
    ) -> SurveyState:
        """Validate ``value`` for the question and save it now (a change updates the
        stored answer). Only a question on the survey's path, or the next one, is taken."""
        response = await self.repo.get(response_id)
        if response.status != "in_progress":
            raise ConflictError(
                f"survey response {response_id} is {response.status}: no more answers",
                details={"status": response.status},
            )
        script = await self._script(response)
        question = script.by_id.get(question_id)
        if question is None:
            raise NotFoundError(
                f"script {script.name!r} has no question {question_id!r}",
                details={"question": question_id},
            )
        contact = await self.repo.contact_fields(response.contact_id)
        answers = await self.repo.answers(response_id)
        values = {k: a.value for k, a in answers.items()}
        on_path = {q.id for q in flow.path(script, values, contact)}
        upcoming = flow.next_question(script, values, contact)
        if question_id not in on_path and (upcoming is None or upcoming.id != question_id):
            expected = upcoming.id if upcoming is not None else "none: the survey is done"
            raise ConflictError(
                f"question {question_id!r} is not on this survey's path (next: {expected})",
                details={"question": question_id, "next": upcoming and upcoming.id},
            )
        clean = flow.check_answer(question, value)
        answers[question_id] = await self.repo.save_answer(
            response_id, question_id, clean, raw=raw, by=by
        )
        values[question_id] = clean
        taken = flow.path(script, values, contact)
        if len(taken) < len(values):  # a change re-routed: what is off the path goes
            await self.repo.keep_only(response_id, [q.id for q in taken])
        state = SurveyState(
            response=response,
            script=script,
            answers=[answers[q.id] for q in taken],
            next_question=flow.next_question(script, values, contact),
            contact=contact,
        )
        self._tell("survey.answer", state)
        return state

    async def finish(self, response_id: int, status: Finish) -> SurveyState:
        """Close the response: ``complete`` (every question on its path answered) or
        ``partial`` (stopped or hung up before the end: kept and marked)."""
        if status not in ("complete", "partial"):
            raise ValidationError(
                "status: complete or partial", details={"fields": {"status": "complete|partial"}}
            )
        response = await self.repo.get(response_id)
        state = await self._state(response)
        if status == "complete" and state.next_question is not None:
            raise ConflictError(
                f"question {state.next_question.id!r} is still to be answered",
                details={"next": state.next_question.id},
            )
        if response.status != "in_progress":
            if response.status == status:
                return state  # finishing twice (a retry) changes nothing
            raise ConflictError(
                f"survey response {response_id} is already {response.status}",
                details={"status": response.status},
            )
        stopped = state.next_question.id if state.next_question is not None else None
        response = await self.repo.finish(response_id, status, stopped)
        await self.repo.link_calls()
        state = await self._state(await self.repo.get(response_id), script=state.script)
        self._tell("survey.finished", state)
        return state

    async def current(self, response_id: int) -> SurveyState:
        """The answers given (on the path) and the question to ask next."""
        return await self._state(await self.repo.get(response_id))

    async def _script(self, response: ResponseOut) -> Script:
        version = response.script_version
        known = _VERSIONS.get(version)
        if known is not None:
            return known
        stored = await self.repo.script(version)
        if stored is None:  # the start stores it first: only a hand-edited database
            msg = f"script version {version} is missing from the store"
            raise NotFoundError(msg, details={"version": version})
        script = Script.model_validate(stored)
        if len(_VERSIONS) >= _VERSIONS_KEPT:
            _VERSIONS.pop(next(iter(_VERSIONS)))
        _VERSIONS[version] = script
        return script

    async def _state(
        self,
        response: ResponseOut,
        *,
        script: Script | None = None,
        contact: dict[str, Any] | None = None,
    ) -> SurveyState:
        script = script or await self._script(response)
        if contact is None:
            contact = await self.repo.contact_fields(response.contact_id)
        answers = await self.repo.answers(response.id)
        values = {k: a.value for k, a in answers.items()}
        taken = flow.path(script, values, contact)
        return SurveyState(
            response=response,
            script=script,
            answers=[answers[q.id] for q in taken],
            next_question=flow.next_question(script, values, contact),
            contact=contact,
        )

    def _tell(self, kind: str, state: SurveyState) -> None:
        if self.on_change is not None:
            self.on_change(kind, state)
