"""Keypad surveys end to end: the shipped NPS script, asked by the real FastAGI server on a
TCP socket of the PBX simulator's Asterisk side (its respondents press keys, pause, press
wrong keys and hang up), each answer stored through the survey service at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import yaml
from aiohttp import web
from pydantic import SecretStr

from cti.agi import AGI_SERVER
from cti.agi.server import FastAgiServer
from cti.config import AgiConfig, Settings
from cti.crm_store.repos.surveys import ResponseFilter
from cti.crm_store.schemas.surveys import ResponseOut
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.dialer.service import CampaignService
from cti.pbxsim.agi import AgiSession, AgiTarget, AsteriskAgi, ChannelInfo
from cti.pbxsim.respondents import (
    Caller,
    HangUp,
    Pause,
    Press,
    RespondentProfile,
    ScriptedRespondent,
)
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR
from cti.surveys.keypad import keypad_flows, keypad_question
from cti.surveys.reports import SurveyReports
from cti.surveys.script import Script, load_script_file, parse_script
from cti.surveys.service import SurveyService
from tests.agi.flows import serving

NPS = load_script_file(DEFAULT_CAMPAIGNS_DIR / "scripts" / "nps.yaml")
LINKEDID = "1795421531.40"


def caller(n: int = 0) -> ChannelInfo:
    return ChannelInfo(
        channel=f"Local/h30@customer-phone-{n:08x};1",
        uniqueid=f"1795421531.{100 + n}",
        callerid="+74951234567",
    )


async def call(
    server: FastAgiServer, who: Caller, args: tuple[str, ...], info: ChannelInfo
) -> AgiSession:
    target = AgiTarget(port=server.port, script="nps", args=args)
    return await AsteriskAgi(target, info, who, time_scale=0).run()


async def keypad_survey(
    store: Store, actions: Sequence[Press | Pause | HangUp], args: tuple[str, ...]
) -> tuple[ResponseOut, dict[str, object], AgiSession]:
    svc = SurveyService(store)
    async with serving(keypad_flows(store, svc, {"nps": NPS}.get)) as server:
        session = await call(server, ScriptedRespondent(actions), args, caller())
    (response,) = await svc.repo.of_call(args[2] if len(args) > 2 else caller().uniqueid)
    answers = {q: a.value for q, a in (await svc.repo.answers(response.id)).items()}
    return response, answers, session


async def test_a_detractor_walks_the_branches_on_the_keypad(store: Store) -> None:
    """Consent, a 3 (a detractor: asked what to improve), quality, satisfaction 1 (so a call
    back is offered), yes; the date cannot be keyed and is optional: stored as no answer."""
    keys = [Press("1"), Press("3"), Press("2"), Press("1"), Press("1")]
    response, answers, session = await keypad_survey(store, keys, ("", "en", LINKEDID))
    assert response.status == "complete" and response.mode == "keypad"
    assert response.call_key == LINKEDID  # the call's linkedid, from the AGI arguments
    assert answers == {
        "consent": True,
        "recommend": 3,
        "improve": "quality",
        "satisfaction": 1,
        "callback": True,
        "callback_date": None,
    }
    assert session.commands[:3] == ["ANSWER", 'STREAM FILE survey/intro ""', (
        'STREAM FILE survey/consent "0123456789*#"'
    )]  # fmt: skip
    assert session.commands[-2:] == ['STREAM FILE survey/thanks ""', "HANGUP"]


async def test_a_promoter_skips_what_keys_cannot_answer(store: Store) -> None:
    """A 10: "what did you like" is a multiple choice (no keypad form, optional): no answer;
    the survey goes on to satisfaction, then ends. The key is the channel's uniqueid."""
    response, answers, _ = await keypad_survey(store, [Press("1"), Press("10"), Press("5")], ())
    assert response.status == "complete" and response.call_key == caller().uniqueid
    assert answers == {"consent": True, "recommend": 10, "liked": None, "satisfaction": 5}


async def test_a_caller_who_hangs_up_leaves_a_partial_survey(store: Store) -> None:
    keys = [Press("1"), Press("*"), Press("7"), HangUp()]  # a wrong key, asked again, a 7
    response, answers, session = await keypad_survey(store, keys, ("", "en", LINKEDID))
    assert response.status == "partial"
    # kept, each stored when given ("what is missing" is free text: no keypad answer)
    assert answers == {"consent": True, "recommend": 7, "missing": None}
    assert response.stopped_at == "satisfaction"  # the question it stopped at
    assert "STREAM FILE invalid" in " ".join(session.commands)


async def test_a_campaigns_stored_script_wins(store: Store) -> None:
    """The campaign argument names a campaign whose stored script is ``nps``: the version
    stored with the campaign is asked, not the book's (edited since), and the response
    carries the campaign."""
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    campaign = (await CampaignService(store).load_data(data, source="test")).campaign
    edited = NPS.to_json()
    edited["questions"][0]["text"] = "Two minutes for us?"
    book = parse_script(edited, "test")
    svc = SurveyService(store)
    async with serving(keypad_flows(store, svc, {"nps": book}.get)) as server:
        await call(
            server, ScriptedRespondent([Press("2")]), ("nps-survey", "en", LINKEDID), caller()
        )
    (response,) = await svc.repo.of_call(LINKEDID)
    assert response.campaign_id == campaign.id
    assert response.script_version == NPS.version != book.version
    assert response.status == "complete"


def test_which_questions_the_keypad_can_ask() -> None:
    by_id = NPS.by_id
    assert keypad_question(by_id["consent"]).digits == {"1": "yes", "2": "no"}  # type: ignore[union-attr]
    nps = keypad_question(by_id["recommend"])
    assert nps is not None and (nps.max_digits, nps.minimum, nps.maximum) == (2, 0, 10)
    assert keypad_question(by_id["liked"]) is None  # multiple choice
    assert keypad_question(by_id["missing"]) is None  # free text
    assert keypad_question(by_id["callback_date"]) is None  # a date
    plain = Script.model_validate(
        {"name": "x", "questions": [
            {"id": "a", "text": "A?", "kind": "single", "options": ["red", "blue"],
             "prompt": ["q-colour"]},
            {"id": "b", "text": "B?", "kind": "yesno"},  # nothing to play
        ]}
    )  # fmt: skip
    colour = keypad_question(plain.by_id["a"])
    assert colour is not None and colour.digits == {"1": "red", "2": "blue"}
    assert keypad_question(plain.by_id["b"]) is None


async def test_simulated_respondents_and_the_results_agree(store: Store) -> None:
    """Forty seeded respondents (valid keys, pauses, wrong keys, hang-ups): every call is one
    response, complete or partial as the runner ended it, with the answers it saved; the
    results count them the same way."""
    valid = {
        "survey/consent": ("1", "2"),
        "survey/enter-0-10": tuple(str(n) for n in range(11)),
        "survey/improve-menu": ("1", "2", "3", "4", "5"),
        "survey/enter-1-5": ("1", "2", "3", "4", "5"),
        "survey/callback": ("1", "2"),
    }
    profile = RespondentProfile(answer=0.8, pause=0.08, wrong=0.08, hangup=0.04, valid=valid,
                                seed=3)  # fmt: skip
    svc = SurveyService(store)
    async with serving(keypad_flows(store, svc, {"nps": NPS}.get)) as server:
        for n in range(40):
            info = caller(n)
            await call(server, profile.respondent(info.uniqueid), (), info)
    ran = server.results
    assert len(ran) == 40
    statuses: Counter[str] = Counter()
    for uniqueid, result in ran.items():
        (response,) = await svc.repo.of_call(uniqueid)
        stored = await svc.repo.answers(response.id)
        keyed = {q for q, a in stored.items() if a.raw is not None}
        assert keyed == set(result.answered), uniqueid
        assert response.status == result.status
        statuses[response.status] += 1
    assert statuses["partial"] > 0 and statuses["complete"] > 0  # both kinds happened
    results = await SurveyReports(store).results(ResponseFilter(script_name="nps"))
    (version,) = results.versions
    assert (version.started, version.complete, version.partial) == (
        40, statuses["complete"], statuses["partial"]
    )  # fmt: skip


async def test_cti_serve_answers_keypad_surveys_with_the_shipped_scripts(
    sqlite_store: Store, aiohttp_client: Callable[[web.Application], Awaitable[Any]]
) -> None:
    """The daemon as ``cti serve`` builds it (its setup hooks: the screen-pop's script book,
    the survey routes and their FastAGI flows): a keypad call is stored as it is answered."""
    settings = Settings(
        database_url=SecretStr("sqlite+aiosqlite:///unused.db"),
        agi=AgiConfig(enabled=True, port=0),
    )
    app = build_app(settings, store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    client = await aiohttp_client(app)
    target = AgiTarget(port=app[AGI_SERVER].port, script="nps", args=("", "en", LINKEDID))
    keys = ScriptedRespondent([Press("1"), Press("9"), Press("4")])
    await AsteriskAgi(target, caller(), keys, time_scale=0).run()
    svc = SurveyService(sqlite_store)
    (response,) = await svc.repo.of_call(LINKEDID)
    answers = {q: a.value for q, a in (await svc.repo.answers(response.id)).items()}
    assert response.status == "complete"
    assert answers == {"consent": True, "recommend": 9, "liked": None, "satisfaction": 4}
    await client.close()
