"""The permission matrix's world and one request per route, for every role.

:class:`World` is the daemon's app (every route ``cti serve`` serves) over one store with a
user per role, a colleague (``oleg``, an operator whose records are "someone else's") and a
call on each user's phone. Each route's :data:`CASES` entry makes the request a role
sends: ``own`` on a record of the caller's (or a plain one), ``others`` (when the route has
records of its own) on oleg's: an ``own`` scope must refuse it, ``all`` must not.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from cti.ami.actions import ActionValue
from cti.calllog.http import RECORDINGS
from cti.calllog.http_exports import DOWNLOADS
from cti.calllog.service import CallLog
from cti.config import PhoneConfig
from cti.crm_store.models.campaigns import CampaignList, DialAttempt, Lead
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.calls import CallQuery, ExportIn
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn
from cti.crm_store.schemas.deals import DealIn
from cti.crm_store.schemas.tasks import NoteIn, TaskIn
from cti.crm_store.schemas.tickets import TicketIn
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.services.deals import DealService
from cti.crm_store.services.tasks import NoteService, TaskService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer.list_service import DncService, ListService
from cti.dialer.service import CampaignService
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, ScriptBook
from cti.surveys.service import SurveyService
from cti.web.auth import USERS
from cti.web.keys import SETTINGS
from tests.calllog.records import IVAN, call
from tests.web.conftest import PASSWORD, Login

Client = TestClient[web.Request, web.Application]
NPS_SCRIPT = ScriptBook.load(DEFAULT_CAMPAIGNS_DIR).scripts["nps"]
_serial = itertools.count(1)
DIALLED = "+79161110001"


class FakePbx:
    """A connected PBX that accepts every action (click-to-dial gets its 200)."""

    name = "lab"

    async def send_action(self, action: Mapping[str, ActionValue]) -> dict[str, str]:
        return {"Response": "Success"}


@dataclass
class World:
    client: Client
    store: Store
    people: dict[str, Login]
    #: a call on each user's phone, by username
    calls: dict[str, int]

    @property
    def oleg(self) -> Login:
        return self.people["oleg"]

    async def contact(self) -> int:
        return (await ContactService(self.store).create(ContactIn(first_name="Ann"))).id

    async def company(self) -> int:
        return (await CompanyService(self.store).create(CompanyIn(name="Acme"))).id

    async def deal(self) -> int:
        deals = DealService(self.store, self.client.app[SETTINGS].crm)
        return (await deals.create(DealIn(title="Seats"))).id

    async def ticket(self) -> int:
        tickets = TicketService(self.store, self.client.app[SETTINGS].crm)
        return (await tickets.create(TicketIn(subject="Noise"))).id

    async def task(self, owner: Login | None) -> int:
        """A task assigned to ``owner`` (None: to oleg)."""
        assignee = (owner or self.oleg).user.id
        return (await TaskService(self.store).create(TaskIn(title="t", assignee_id=assignee))).id

    async def note(self, author: Login | None) -> int:
        """``author``'s note on a contact; None: oleg's note on his call."""
        if author is None:
            data, by = NoteIn(body="n", call_id=self.calls["oleg"]), self.oleg
        else:
            data, by = NoteIn(body="n", contact_id=await self.contact()), author
        return (await NoteService(self.store).create(data, author_id=by.user.id)).id

    async def call_of(self, who: Login | None) -> int:
        """The call on ``who``'s phone (every role has one), None: on oleg's."""
        return self.calls[(who or self.oleg).user.username]

    async def user(self) -> int:
        data = {"username": f"u{next(_serial)}", "password": PASSWORD}
        return (await self.client.app[USERS].create(UserIn.model_validate(data))).id

    async def campaign(self) -> int:
        """A fresh campaign (the shipped NPS survey under a new name)."""
        loaded = await CampaignService(self.store).load_data(campaign_definition(), source="test")
        return loaded.campaign.id

    async def fresh_token(self, who: Login | None) -> str | None:
        if who is None:
            return None
        return (await self.client.app[USERS].issue_token(who.user.id)).token


@dataclass(frozen=True)
class Req:
    """One request of a case: path (with ids), JSON body, and the token to send instead of
    the caller's own (logout revokes the one it is sent with)."""

    path: str
    json: Any = None
    token: str | None = None


Make = Callable[[World, Login | None], Awaitable[Req]]


@dataclass(frozen=True)
class Case:
    own: Make
    others: Make | None = None


async def _req(path: str, body: Any = None) -> Req:
    return Req(path, body)


def plain(path: str, body: Any = None) -> Case:
    """A route with no record of its own: the same request for everyone."""

    async def make(w: World, p: Login | None) -> Req:
        return Req(path, body)

    return Case(make)


def on(what: str, path: str, body: Any = None) -> Case:
    """A route on one fresh record of ``what`` (contact, company, deal, ticket, user)."""

    async def make(w: World, p: Login | None) -> Req:
        return Req(path.format(id=await getattr(w, what)()), body)

    return Case(make)


def owned(
    make_id: Callable[[World, Login | None], Awaitable[int]], path: str, body: Any = None
) -> Case:
    """A route on a record of the caller's (``own``) and on one of oleg's (``others``)."""

    async def own(w: World, p: Login | None) -> Req:
        return Req(path.format(id=await make_id(w, p)), body)

    async def others(w: World, p: Login | None) -> Req:
        return Req(path.format(id=await make_id(w, None)), body)

    return Case(own, others)


async def _note_on_olegs_call(w: World, p: Login | None) -> Req:
    return Req("/api/notes", {"body": "n", "call_id": await w.call_of(None)})


async def _note_on_own_call(w: World, p: Login | None) -> Req:
    body = {"body": "n", "call_id": await w.call_of(p), "contact_id": await w.contact()}
    return Req("/api/notes", body)


async def _task_for_oleg(w: World, p: Login | None) -> Req:
    return Req("/api/tasks", {"title": "t", "assignee_id": w.oleg.user.id})


async def _login(w: World, p: Login | None) -> Req:
    who = p or w.oleg
    return Req("/api/login", {"username": who.user.username, "password": PASSWORD})


async def _logout(w: World, p: Login | None) -> Req:
    return Req("/api/logout", token=await w.fresh_token(p))


ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "23:59"}


def campaign_definition() -> dict[str, Any]:
    """The NPS survey under a new name, its answered calls sent to a context (no queue: the
    matrix runs without a PBX)."""
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    data["name"] = f"c{next(_serial)}"
    data["connect"] = {"context": "cti-campaign", "exten": "s"}
    return dict(data)


async def _joined(w: World, p: Login | None) -> int:
    """``p`` works a fresh campaign (None: nobody joins); the campaign's id."""
    campaign = await w.campaign()
    if p is not None:
        await DialerRepo(w.store).join(campaign, p.user.id, p.user.extensions[0], utcnow())
    return campaign


def as_agent(path: str, body: Any = None) -> Case:
    """A route on the caller's own agent state: they join a campaign first."""

    async def make(w: World, p: Login | None) -> Req:
        await _joined(w, p)
        return Req(path, body)

    return Case(make)


async def _preview_lead(w: World, p: Login | None) -> int:
    """``p`` works a fresh preview campaign with one lead; the campaign's id."""
    data = campaign_definition() | {"mode": "preview", "windows": [ALWAYS]}
    campaign = (await CampaignService(w.store).load_data(data, source="test")).campaign
    await ListService(w.store, PhoneConfig()).import_text(
        campaign, f"phone\n+7423444{next(_serial):04d}\n".encode(), list_name="l"
    )
    await CampaignService(w.store).change(campaign.id, "start")
    if p is not None:
        await DialerRepo(w.store).join(campaign.id, p.user.id, p.user.extensions[0], utcnow())
    return campaign.id


async def _previewing(w: World, p: Login | None) -> Req:
    await _preview_lead(w, p)
    return Req("/api/agent/preview")


def _previewed(action: str) -> Make:
    """A preview claimed for the caller, then ``dial`` or ``skip`` it."""

    async def make(w: World, p: Login | None) -> Req:
        campaign = await _preview_lead(w, p)
        claimed = await DialerRepo(w.store).pace_and_claim(
            campaign,
            decide=lambda floor: 1,
            window=lambda lead: None,
            dialer="test",
            pbx="lab",
            now=utcnow(),
            abandon_hold=None,
            agent=(p.user.id, p.user.extensions[0]) if p is not None else None,
        )
        return Req(f"/api/agent/preview/{claimed[0].attempt_id}/{action}")

    return make


async def _join(w: World, p: Login | None) -> Req:
    return Req("/api/agent/join", {"campaign_id": await w.campaign()})


async def _dispose(w: World, p: Login | None) -> Req:
    """The caller's own campaign call, ended, to set its disposition."""
    campaign = await _joined(w, p)
    attempt = await _ended_attempt(w, campaign, p)
    return Req("/api/agent/disposition", {"attempt_id": attempt, "disposition": "completed"})


async def _ended_attempt(w: World, campaign: int, p: Login | None) -> int:
    now = utcnow()
    async with w.store.sessions() as session, session.begin():
        the_list = CampaignList(campaign_id=campaign, name="l", created_at=now, updated_at=now)
        session.add(the_list)
        await session.flush()
        lead = Lead(
            campaign_id=campaign,
            list_id=the_list.id,
            phone=f"+7423333{next(_serial):04d}",
            attempts=1,
            created_at=now,
            updated_at=now,
        )
        session.add(lead)
        await session.flush()
        attempt = DialAttempt(
            campaign_id=campaign,
            version=1,
            lead_id=lead.id,
            seq=1,
            action_id=f"cti-dial-test-{next(_serial)}",
            phone=lead.phone,
            mode="progressive",
            dialer="test",
            state="ended",
            outcome="answered",
            agent_user_id=p.user.id if p is not None else None,
            agent=p.user.extensions[0] if p is not None else None,
            claimed_at=now,
            ended_at=now,
        )
        session.add(attempt)
        await session.flush()
        return attempt.id


async def _new_campaign(w: World, p: Login | None) -> Req:
    return Req("/api/campaigns", {"definition": campaign_definition()})


async def _dnc_number(w: World, p: Login | None) -> Req:
    number = f"+7423222{next(_serial):04d}"
    await DncService(w.store, w.client.app[SETTINGS].phone).add([number], campaign_id=None)
    return Req(f"/api/dnc/{number}")


async def _dial_from_olegs_phone(w: World, p: Login | None) -> Req:
    return Req("/api/dial", {"number": DIALLED, "extension": PEOPLE["oleg"][1]})


async def _create_user(w: World, p: Login | None) -> Req:
    return Req("/api/users", {"username": f"new{next(_serial)}", "password": PASSWORD})


async def _survey_start(w: World, p: Login | None) -> Req:
    """Start the NPS survey of the call on ``p``'s phone."""
    key = f"c-{(p or w.oleg).user.username}"
    return Req("/api/surveys", {"call_key": key, "pbx": "lab", "script": "nps"})


async def _survey_start_olegs(w: World, p: Login | None) -> Req:
    return Req("/api/surveys", {"call_key": "c-oleg", "pbx": "lab", "script": "nps"})


async def _survey_of(w: World, p: Login | None) -> int:
    """A survey ``p`` started (None: oleg) on a call of their own."""
    who = p or w.oleg
    return await SurveyService(w.store).start(
        call_key=f"s-{next(_serial)}",
        script=NPS_SCRIPT,
        mode="operator",
        agent=who.user.extensions[0],
        agent_user_id=who.user.id,
    )


async def _recorded_call(w: World, p: Login | None) -> int:
    """A fresh call on ``p``'s phone (None: oleg's) whose recording is on file."""
    recordings = w.client.app[RECORDINGS]
    if recordings.root is None:  # next to the world's SQLite file, in pytest's tmp folder
        recordings.root = Path(w.store.url.split("///", 1)[1]).parent / "recordings"
        recordings.root.mkdir(exist_ok=True)
        (recordings.root / "r.wav").write_bytes(b"RIFF")
    extension = (p or w.oleg).user.extensions[0]
    log = CallLog(w.store)
    try:
        linkedid = f"rec-{next(_serial)}"
        await log.record(
            call(linkedid, agents_rung=(extension,), agent=extension, recording="r.wav")
        )
        page = await log.search(CallQuery(agent=extension, limit=500))
        return next(c.id for c in page.items if c.linkedid == linkedid)
    finally:
        log.close()


async def _download_link(w: World, p: Login | None) -> Req:
    """A fresh export link made by ``p`` (anonymous: by olga); the link alone fetches it."""
    who = p or w.people["olga"]
    link = await w.client.app[DOWNLOADS].create(who.user.id, who.token, ExportIn())
    return Req(link.url)


_ID = "{id}"
_PERIOD = "from=2026-12-01&to=2026-12-07&tz=Europe/Moscow"
#: "METHOD path" (as the router spells the path) → how each role calls it
CASES: dict[str, Case] = {
    "POST /api/login": Case(_login),
    "POST /api/logout": Case(_logout),
    "GET /api/me": plain("/api/me"),
    "GET /api/users": plain("/api/users"),
    "POST /api/users": Case(_create_user),
    "GET /api/users/{id}": on("user", f"/api/users/{_ID}"),
    "PATCH /api/users/{id}": on("user", f"/api/users/{_ID}", {"full_name": "Renamed"}),
    "GET /api/contacts": plain("/api/contacts"),
    "GET /api/contacts/lookup": plain(f"/api/contacts/lookup?phone={IVAN}"),
    "POST /api/contacts": plain("/api/contacts", {"first_name": "New"}),
    "GET /api/contacts/{id}": on("contact", f"/api/contacts/{_ID}"),
    "PATCH /api/contacts/{id}": on("contact", f"/api/contacts/{_ID}", {"last_name": "X"}),
    "DELETE /api/contacts/{id}": on("contact", f"/api/contacts/{_ID}"),
    "GET /api/companies": plain("/api/companies"),
    "POST /api/companies": plain("/api/companies", {"name": "New Co"}),
    "GET /api/companies/{id}": on("company", f"/api/companies/{_ID}"),
    "PATCH /api/companies/{id}": on("company", f"/api/companies/{_ID}", {"website": "x.example"}),
    "DELETE /api/companies/{id}": on("company", f"/api/companies/{_ID}"),
    "GET /api/deals": plain("/api/deals"),
    "POST /api/deals": plain("/api/deals", {"title": "New deal"}),
    "GET /api/deals/{id}": on("deal", f"/api/deals/{_ID}"),
    "PATCH /api/deals/{id}": on("deal", f"/api/deals/{_ID}", {"title": "Renamed"}),
    "DELETE /api/deals/{id}": on("deal", f"/api/deals/{_ID}"),
    "GET /api/pipeline": plain("/api/pipeline"),
    "GET /api/tickets": plain("/api/tickets"),
    "POST /api/tickets": plain("/api/tickets", {"subject": "New"}),
    "GET /api/tickets/{id}": on("ticket", f"/api/tickets/{_ID}"),
    "PATCH /api/tickets/{id}": on("ticket", f"/api/tickets/{_ID}", {"priority": "low"}),
    "DELETE /api/tickets/{id}": on("ticket", f"/api/tickets/{_ID}"),
    "GET /api/tickets/{id}/comments": on("ticket", f"/api/tickets/{_ID}/comments"),
    "POST /api/tickets/{id}/comments": on("ticket", f"/api/tickets/{_ID}/comments", {"body": "c"}),
    "GET /api/tasks": plain("/api/tasks"),
    "POST /api/tasks": Case(plain("/api/tasks", {"title": "t"}).own, _task_for_oleg),
    "GET /api/tasks/{id}": owned(World.task, f"/api/tasks/{_ID}"),
    "PATCH /api/tasks/{id}": owned(World.task, f"/api/tasks/{_ID}", {"title": "Renamed"}),
    "DELETE /api/tasks/{id}": owned(World.task, f"/api/tasks/{_ID}"),
    "GET /api/notes": plain("/api/notes"),
    "POST /api/notes": Case(_note_on_own_call, _note_on_olegs_call),
    "GET /api/notes/{id}": owned(World.note, f"/api/notes/{_ID}"),
    "PATCH /api/notes/{id}": owned(World.note, f"/api/notes/{_ID}", {"body": "edited"}),
    "DELETE /api/notes/{id}": owned(World.note, f"/api/notes/{_ID}"),
    "GET /api/calls": plain("/api/calls"),
    "GET /api/calls/{id}": owned(World.call_of, f"/api/calls/{_ID}"),
    "GET /api/calls/count": plain("/api/calls/count?status=answered"),
    "GET /api/calls/{id}/recording": owned(_recorded_call, f"/api/calls/{_ID}/recording"),
    "POST /api/exports": plain("/api/exports", {"format": "csv", "filters": {"tz": "UTC"}}),
    "GET /api/downloads/{token}": Case(_download_link),
    "GET /api/contacts/{id}/timeline": on("contact", f"/api/contacts/{_ID}/timeline"),
    "GET /api/companies/{id}/timeline": on("company", f"/api/companies/{_ID}/timeline"),
    "PATCH /api/calls/{id}": owned(World.call_of, f"/api/calls/{_ID}", {"disposition": "sold"}),
    "POST /api/dial": Case(plain("/api/dial", {"number": DIALLED}).own, _dial_from_olegs_phone),
    "GET /api/openapi.json": plain("/api/openapi.json"),
    "GET /api/campaigns": plain("/api/campaigns"),
    "POST /api/campaigns": Case(_new_campaign),
    "GET /api/campaigns/{id}": on("campaign", f"/api/campaigns/{_ID}"),
    "POST /api/campaigns/{id}/{command}": on("campaign", f"/api/campaigns/{_ID}/start"),
    "POST /api/campaigns/{id}/lists": on(
        "campaign", f"/api/campaigns/{_ID}/lists", {"name": "q4", "csv": "phone\n+74232223344\n"}
    ),
    "POST /api/campaigns/{id}/recycle": on(
        "campaign", f"/api/campaigns/{_ID}/recycle", {"outcomes": ["busy"]}
    ),
    "GET /api/dnc": plain("/api/dnc"),
    "POST /api/dnc": Case(
        lambda w, p: _req("/api/dnc", {"numbers": [f"+7423111{next(_serial):04d}"]})
    ),
    "DELETE /api/dnc/{number}": Case(_dnc_number),
    "GET /api/campaigns/{id}/figures": on("campaign", f"/api/campaigns/{_ID}/figures"),
    "GET /api/campaigns/{id}/agents": on("campaign", f"/api/campaigns/{_ID}/agents"),
    "GET /api/agent": as_agent("/api/agent"),
    "POST /api/agent/join": Case(_join),
    "POST /api/agent/leave": as_agent("/api/agent/leave"),
    "POST /api/agent/pause": as_agent("/api/agent/pause", {"reason": "lunch"}),
    "POST /api/agent/unpause": as_agent("/api/agent/unpause"),
    "POST /api/agent/disposition": Case(_dispose),
    "POST /api/agent/preview": Case(_previewing),
    "POST /api/agent/preview/{id}/dial": Case(_previewed("dial")),
    "POST /api/agent/preview/{id}/skip": Case(_previewed("skip")),
    "POST /api/surveys": Case(_survey_start, _survey_start_olegs),
    "GET /api/surveys": plain("/api/surveys?call_key=c-oleg"),
    "GET /api/surveys/{id}": owned(_survey_of, f"/api/surveys/{_ID}"),
    "POST /api/surveys/{id}/answers": owned(
        _survey_of, f"/api/surveys/{_ID}/answers", {"question_id": "consent", "value": True}
    ),
    "POST /api/surveys/{id}/finish": owned(
        _survey_of, f"/api/surveys/{_ID}/finish", {"status": "partial"}
    ),
    "GET /api/survey-results": plain("/api/survey-results?script=nps"),
    "GET /api/survey-results/csv": plain("/api/survey-results/csv?script=nps"),
    "GET /api/reports/agents": plain(f"/api/reports/agents?{_PERIOD}"),
    "GET /api/reports/queues": plain(f"/api/reports/queues?{_PERIOD}"),
    "GET /api/reports/callbacks": plain(f"/api/reports/callbacks?{_PERIOD}"),
    "GET /api/reports/heatmap": plain(f"/api/reports/heatmap?{_PERIOD}"),
    "GET /api/reports/campaigns": plain(f"/api/reports/campaigns?{_PERIOD}"),
    "GET /api/reports/sla": plain(f"/api/reports/sla?{_PERIOD}"),
    "GET /manager": plain("/manager"),
    "GET /static/reports": plain("/static/reports/manager.js"),
    "GET /api/docs": plain("/api/docs"),
    "GET /ws": plain("/ws"),  # a WebSocket: the matrix connects (see test_permissions)
    "GET /": plain("/"),
    "GET /favicon.ico": plain("/favicon.ico"),
    "GET /supervisor": plain("/supervisor"),
    "GET /static/dialer": plain("/static/dialer/supervisor.js"),
    "GET /static/screenpop": plain("/static/screenpop/app.js"),
    "GET /static/vendor": plain("/static/vendor/chart.umd.min.js"),
}


#: the people of the world: username → (role, extension)
PEOPLE = {
    "olga": ("operator", "101"),
    "sue": ("supervisor", "201"),
    "max": ("manager", "301"),
    "oleg": ("operator", "102"),
}


async def build_world(client: Client, store: Store) -> World:
    """The users (one token each) and a call on each of their phones."""
    users, log = client.app[USERS], CallLog(store)
    people: dict[str, Login] = {}
    calls: dict[str, int] = {}
    try:
        for name, (role, extension) in PEOPLE.items():
            data = {"username": name, "password": PASSWORD, "role": role}
            user = await users.create(UserIn.model_validate({**data, "extensions": [extension]}))
            people[name] = Login(user, (await users.issue_token(user.id)).token)
            await log.record(call(f"c-{name}", agents_rung=(extension,), agent=extension))
            calls[name] = (await log.search(CallQuery(agent=extension))).items[0].id
    finally:
        log.close()
    return World(client, store, people, calls)
