"""``/api/surveys`` (the operator walks a call's survey) and ``/api/survey-results``.

Operators start and answer the surveys of their own calls only: a call ringing or answered
on one of their extensions (live, as the screen-pop hub knows it, or as the call log stored
it), and afterwards the responses they started. Supervisors and managers may do it on any
call and read the results. Each change is pushed to the supervisors watching every call
(``survey.started``, ``survey.answer``, ``survey.finished`` frames over ``/ws``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, JsonValue, model_validator

from cti.agi import AGI_FLOWS
from cti.agi.keypad import KeypadFlow
from cti.agi.protocol import AgiEnv
from cti.agi.server import FlowFactory
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.surveys import ResponseFilter, SurveyRepo
from cti.crm_store.rules.visibility import Viewer, may_see_call
from cti.crm_store.schemas.common import Id, InModel, OutModel
from cti.crm_store.schemas.surveys import ResponseOut
from cti.crm_store.timeutil import UtcDateTime
from cti.errors import ConfigError, ConflictError, ForbiddenError, NotFoundError, ValidationError
from cti.surveys.keypad import keypad_flows
from cti.surveys.results import Results
from cti.surveys.script import Script, parse_script
from cti.surveys.service import SurveyService, SurveyState
from cti.web.access import grant_of, viewer_of
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, path_id, read_body, read_query

ROUTES = RouteTable("surveys")
_ID = r"{id:\d+}"
_KEY = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@/-]+$")]


class StartIn(InModel):
    call_key: _KEY = Field(description="the call's Linkedid (the pop's call_id)")
    pbx: str | None = Field(default=None, max_length=64)
    script: str | None = Field(
        default=None, max_length=64, description="the script's name (default: the campaign's)"
    )
    campaign_id: Id | None = None
    attempt_id: Id | None = None
    contact_id: Id | None = None

    @model_validator(mode="after")
    def _some_script(self) -> StartIn:
        if self.script is None and self.campaign_id is None:
            raise ValueError("give script or campaign_id")
        return self


class AnswerIn(InModel):
    question_id: str = Field(min_length=1, max_length=64)
    value: JsonValue = Field(description="yes/no: true/false; a choice: its option; multi: a list")


class FinishIn(InModel):
    status: Literal["complete", "partial"]


class CallQuery(InModel):
    call_key: _KEY


class AnswerView(OutModel):
    question_id: str
    value: JsonValue
    raw: str | None
    answered_at: UtcDateTime
    answered_by: str | None
    updated_at: UtcDateTime


class SurveyView(OutModel):
    response: ResponseOut
    script: dict[str, Any]
    intro: str
    closing: str
    answers: list[AnswerView]
    next: dict[str, Any] | None
    done: bool


class SurveyList(OutModel):
    items: list[SurveyView]


class ResultsQuery(InModel):
    campaign_id: Id | None = None
    script: str | None = Field(default=None, max_length=64, description="inbound: per script")
    from_: UtcDateTime | None = Field(default=None, alias="from")
    to: UtcDateTime | None = None
    list_id: Id | None = None
    agent: str | None = Field(default=None, max_length=32, description="extension")

    @model_validator(mode="after")
    def _one_subject(self) -> ResultsQuery:
        if self.campaign_id is None and self.script is None:
            raise ValueError("give campaign_id or script")
        return self

    def where(self) -> ResponseFilter:
        return ResponseFilter(
            campaign_id=self.campaign_id,
            script_name=self.script,
            since=self.from_,
            until=self.to,
            list_id=self.list_id,
            agent=self.agent,
        )


# -- the service, and what it tells the supervisors ---------------------------------------

#: who hears each change of a survey (set by :func:`setup`; the keypad runner uses it too)
SurveyListener = Callable[[str, SurveyState], None]
SURVEY_EVENTS: web.AppKey[SurveyListener] = web.AppKey("survey_events")


def survey_service(app: web.Application) -> SurveyService:
    """A :class:`SurveyService` on the app's store whose changes reach the supervisors."""
    return SurveyService(app[STORE], on_change=app.get(SURVEY_EVENTS))


def frame(kind: str, state: SurveyState) -> dict[str, Any]:
    """A compact ``/ws`` frame: who, which call and script, every answer with its text."""
    texts = {q.id: q.text for q in state.script.questions}
    r = state.response
    return {
        "type": kind,
        "survey": {
            "id": r.id,
            "call_key": r.call_key,
            "campaign_id": r.campaign_id,
            "script": r.script_name,
            "title": state.script.title or state.script.name,
            "mode": r.mode,
            "agent": r.agent,
            "status": r.status,
            "answers": [
                {
                    "question_id": a.question_id,
                    "text": texts.get(a.question_id, ""),
                    "value": a.value,
                }
                for a in state.answers
            ],
            "next": state.next_question.id if state.next_question is not None else None,
        },
    }


def push_to_watchers(app: web.Application) -> Callable[[str, SurveyState], None]:
    def push(kind: str, state: SurveyState) -> None:
        from cti.screenpop.http import HUB

        hub = app.get(HUB)
        if hub is None:
            return
        watchers = [c for c in hub.clients if c.sub_all]
        if watchers:
            hub.send(watchers, frame(kind, state))

    return push


def _view(state: SurveyState) -> SurveyView:
    return SurveyView.model_validate(state.to_json())


# -- ownership -----------------------------------------------------------------------------


def _own_response(viewer: Viewer, response: ResponseOut) -> None:
    if not viewer.own:
        return
    if response.agent_user_id == viewer.user_id:
        return
    raise ForbiddenError(
        f"survey response {response.id} is not on one of your calls",
        details={"id": response.id},
    )


async def _call_agent(request: web.Request, data: StartIn, viewer: Viewer) -> str | None:
    """The caller's extension on this call (live in the hub, else the stored record); an
    operator is refused a call answered by someone else, or that never rang on them."""
    from cti.screenpop.http import HUB

    hub = request.app.get(HUB)
    live = hub.calls.get(data.call_key) if hub is not None else None
    if live is not None and data.pbx in (None, live.info.pbx):
        parties = [(live.ring.answered_by, sorted(live.ring.rung))]
    else:
        parties = await SurveyRepo(request.app[STORE]).call_parties(data.call_key, data.pbx)
    mine = viewer.extensions
    for agent, rung in parties:
        # an answered call is its answerer's; one nobody answered, each rung extension's
        if agent is not None and agent in mine:
            return agent
        if agent is None and may_see_call(mine, agent, rung):
            return next(e for e in rung if e in mine)
    if not viewer.own:
        return parties[0][0] if parties else None
    if not parties:
        raise NotFoundError(
            f"no call {data.call_key} is known (live or stored)",
            details={"call_key": data.call_key},
        )
    raise ForbiddenError(
        f"call {data.call_key} did not ring on your extensions", details={"call_key": data.call_key}
    )


async def _script_for(request: web.Request, data: StartIn) -> Script:
    """The campaign's stored script (the version it was loaded with), else the named one."""
    from cti.screenpop.http import SCRIPTS

    if data.campaign_id is not None:
        campaign = await CampaignRepo(request.app[STORE]).get(data.campaign_id)
        if campaign.script is not None and data.script in (None, campaign.script.get("name")):
            try:
                return parse_script(campaign.script, f"campaign {campaign.name!r}'s script")
            except ConfigError as exc:  # stored by an older build, refused by today's checks
                raise ConflictError(
                    f"{exc.message}: reload the campaign", details={"campaign": campaign.name}
                ) from None
        if data.script is None:
            raise ValidationError(
                f"campaign {campaign.name!r} has no script: name one",
                details={"fields": {"script": "required: the campaign has none"}},
            )
    book = request.app.get(SCRIPTS)
    script = book.scripts.get(data.script or "") if book is not None else None
    if script is None:
        raise NotFoundError(f"no script {data.script!r}", details={"script": data.script})
    return script


# -- routes --------------------------------------------------------------------------------


@ROUTES.post(
    "/api/surveys",
    summary="Start the survey of a call, or resume the one already started",
    body=StartIn,
    response=SurveyView,
    errors=(403, 404, 409, 422),
    perm=("surveys", "create"),
)
async def start(request: web.Request) -> web.Response:
    data = await read_body(request, StartIn)
    viewer = viewer_of(request)
    agent = await _call_agent(request, data, viewer)
    script = await _script_for(request, data)
    svc = survey_service(request.app)
    existing = [r for r in await svc.repo.of_call(data.call_key) if r.script_name == script.name]
    if existing:
        _own_response(viewer, existing[0])
    rid = await svc.start(
        call_key=data.call_key,
        pbx=data.pbx,
        script=script,
        mode="operator",
        campaign_id=data.campaign_id,
        attempt_id=data.attempt_id,
        contact_id=data.contact_id,
        agent=agent,
        agent_user_id=grant_of(request).user.id,
    )
    return json_model(_view(await svc.current(rid)))


@ROUTES.get(
    "/api/surveys",
    summary="The surveys of a call (a reloaded page resumes them)",
    query=CallQuery,
    response=SurveyList,
    errors=(422,),
    perm=("surveys", "read"),
)
async def of_call(request: web.Request) -> web.Response:
    key = read_query(request, CallQuery).call_key
    viewer = viewer_of(request)
    svc = survey_service(request.app)
    found = await svc.repo.of_call(key)
    shown = [r for r in found if not viewer.own or r.agent_user_id == viewer.user_id]
    return json_model(SurveyList(items=[_view(await svc.current(r.id)) for r in shown]))


@ROUTES.get(
    f"/api/surveys/{_ID}",
    summary="A survey: its answers and the question to ask next",
    response=SurveyView,
    errors=(403, 404),
    perm=("surveys", "read"),
)
async def get_survey(request: web.Request) -> web.Response:
    svc = survey_service(request.app)
    rid = path_id(request)
    _own_response(viewer_of(request), await svc.repo.get(rid))
    return json_model(_view(await svc.current(rid)))


@ROUTES.post(
    f"/api/surveys/{_ID}/answers",
    summary="Answer a question, or change an earlier answer (saved at once)",
    body=AnswerIn,
    response=SurveyView,
    errors=(403, 404, 409, 422),
    perm=("surveys", "edit"),
)
async def answer(request: web.Request) -> web.Response:
    data = await read_body(request, AnswerIn)
    svc = survey_service(request.app)
    rid = path_id(request)
    _own_response(viewer_of(request), await svc.repo.get(rid))
    by = grant_of(request).user.username
    return json_model(_view(await svc.answer(rid, data.question_id, data.value, by=by)))


@ROUTES.post(
    f"/api/surveys/{_ID}/finish",
    summary="Finish a survey: complete, or partial (stopped before the end)",
    body=FinishIn,
    response=SurveyView,
    errors=(403, 404, 409, 422),
    perm=("surveys", "edit"),
)
async def finish(request: web.Request) -> web.Response:
    data = await read_body(request, FinishIn)
    svc = survey_service(request.app)
    rid = path_id(request)
    _own_response(viewer_of(request), await svc.repo.get(rid))
    return json_model(_view(await svc.finish(rid, data.status)))


@ROUTES.get(
    "/api/survey-results",
    summary="Results per question: counts, distributions, averages, NPS, CSAT, drop-off",
    query=ResultsQuery,
    response=Results,
    errors=(422,),
    perm=("survey_results", "read"),
)
async def results(request: web.Request) -> web.Response:
    from cti.surveys.reports import SurveyReports

    query = read_query(request, ResultsQuery)
    return json_model(await SurveyReports(request.app[STORE]).results(query.where()))


@ROUTES.get(
    "/api/survey-results/csv",
    summary="Raw answers as CSV: one row per response, one column per question",
    query=ResultsQuery,
    errors=(422,),
    perm=("survey_results", "read"),
    media_type="text/csv",
)
async def results_csv(request: web.Request) -> web.Response:
    from cti.surveys.reports import SurveyReports

    query = read_query(request, ResultsQuery)
    text = await SurveyReports(request.app[STORE]).csv(query.where())
    name = f"survey-{query.campaign_id or query.script}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def keypad_flows_of(app: web.Application) -> FlowFactory:
    """The FastAGI server's flows: scripts as the screen-pop's book has them now, answers
    through the app's survey service (so supervisors watching see keypad answers too)."""
    from cti.screenpop.http import SCRIPTS

    def lookup(name: str) -> Script | None:
        book = app.get(SCRIPTS)
        return book.scripts.get(name) if book is not None else None

    async def flows(name: str, env: AgiEnv) -> KeypadFlow | None:
        return await keypad_flows(app[STORE], survey_service(app), lookup)(name, env)

    return flows


def setup(app: web.Application) -> None:
    """Add the survey routes; changes are pushed to the supervisors watching; keypad
    surveys come in through the FastAGI server (``[agi]``)."""
    ROUTES.install(app)
    app[SURVEY_EVENTS] = push_to_watchers(app)
    app[AGI_FLOWS] = keypad_flows_of(app)
