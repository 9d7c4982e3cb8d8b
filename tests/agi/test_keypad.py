"""Keypad surveys end to end: the real FastAGI server on a TCP socket, the PBX simulator's
Asterisk side (``cti.pbxsim.agi``) with its respondents pressing keys, pausing, pressing
wrong keys and hanging up; the flow is a recording test double of the survey service."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from cti.agi.keypad import KeypadQuestion, KeypadResult, interpret
from cti.agi.server import FastAgiServer
from cti.pbxsim.agi import AgiSession, AgiTarget, AsteriskAgi, ChannelInfo
from cti.pbxsim.respondents import (
    Action,
    Caller,
    HangUp,
    Pause,
    Press,
    RespondentProfile,
    ScriptedRespondent,
)
from tests.agi.flows import COMMENT_OK, NPS, YES_NO, Flows, RecordingFlow, serving

IVAN = ChannelInfo(
    channel="Local/h30@customer-phone-00000015;1",
    uniqueid="1795421531.42",
    callerid="+74951234567",
    calleridname="Ivan Petrov",
)
ASK_YES_NO = 'STREAM FILE q-recommend "0123456789*#"'
ASK_NPS = 'STREAM FILE q-nps "0123456789*#"'


async def call(
    server: FastAgiServer, caller: Caller, script: str = "survey", info: ChannelInfo = IVAN
) -> AgiSession:
    """One simulated survey call; returns when the server has closed the socket."""
    target = AgiTarget(port=server.port, script=script)
    return await AsteriskAgi(target, info, caller, time_scale=0).run()


async def survey(
    actions: Sequence[Action], questions: Sequence[KeypadQuestion] = (YES_NO, NPS), **config: object
) -> tuple[RecordingFlow, AgiSession]:
    flows = Flows({"survey": lambda: RecordingFlow(questions)})
    async with serving(flows, **config) as server:
        session = await call(server, ScriptedRespondent(actions))
    (flow,) = flows.made
    return flow, session


async def test_a_caller_who_answers_everything_completes_the_survey() -> None:
    flow, session = await survey([Press("1"), Press("9")])
    assert flow.answers == {"recommend": ("yes", "1"), "nps": (9, "9")}
    assert flow.finished == ["complete"]
    assert session.commands == [
        "ANSWER",
        'STREAM FILE survey-intro ""',
        ASK_YES_NO,
        "WAIT FOR DIGIT 5000",
        ASK_NPS,
        'GET DATA "" 5000 2',
        'STREAM FILE survey-thanks ""',
        "HANGUP",
    ]
    # one key of two, then Asterisk's timeout: the digits still count
    assert session.exchanged[5] == ('GET DATA "" 5000 2', "200 result=9 (timeout)\n")
    assert session.exchanged[-1] == ("HANGUP", "200 result=1\n")


async def test_the_server_reports_each_finished_call() -> None:
    ended: list[tuple[str, KeypadResult]] = []
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO, NPS])})
    async with serving(flows, on_result=lambda env, r: ended.append((env.uniqueid, r))) as server:
        session = await call(server, ScriptedRespondent([Press("1"), HangUp()]))
        await call(server, ScriptedRespondent([Press("2"), Press("3")]), script="unknown")
    ((uniqueid, result),) = ended  # the unknown script ran no survey
    assert uniqueid == IVAN.uniqueid and server.results[uniqueid] is result
    assert (result.status, result.answered) == ("partial", ["recommend"])
    assert result.commands == session.commands and result.reason.startswith("hung up")


async def test_a_wrong_key_hears_invalid_and_is_asked_again() -> None:
    flow, session = await survey([Press("7"), Press("2"), Press("11"), Press("10")])
    assert flow.answers == {"recommend": ("no", "2"), "nps": (10, "10")}
    assert flow.finished == ["complete"]
    assert session.commands.count('STREAM FILE invalid ""') == 2
    assert session.commands.count(ASK_YES_NO) == 2 and session.commands.count(ASK_NPS) == 2


async def test_silence_asks_again_without_invalid_and_zero_is_an_answer() -> None:
    flow, session = await survey([Press("1"), Pause(), Press("0#")])
    assert flow.answers["nps"] == (0, "0")
    assert 'STREAM FILE invalid ""' not in session.commands
    assert ("WAIT FOR DIGIT 5000", "200 result=49\n") in session.exchanged


async def test_keys_pressed_during_the_prompt_stop_it_and_count() -> None:
    flow, session = await survey([Press("2", early=True), Press("10", early=True)])
    assert flow.answers == {"recommend": ("no", "2"), "nps": (10, "10")}
    assert (ASK_YES_NO, "200 result=50 endpos=8000\n") in session.exchanged
    assert "WAIT FOR DIGIT 5000" not in session.commands  # the key came with the prompt
    assert ('GET DATA "" 5000 1', "200 result=0\n") in session.exchanged  # the second key


async def test_hanging_up_mid_survey_keeps_the_answers_and_is_partial() -> None:
    flow, session = await survey([Press("1"), HangUp()])
    assert flow.answers == {"recommend": ("yes", "1")}
    assert flow.finished == ["partial"]
    assert session.exchanged[-1] == ('GET DATA "" 5000 2', "200 result=-1\n")
    assert session.hung_up


async def test_hanging_up_while_a_prompt_plays_is_seen_on_the_next_command() -> None:
    """``STREAM FILE``'s -1 may be a missing file; the ``HANGUP`` line and the 511 that
    follow tell it was the caller."""
    flow, session = await survey([HangUp(early=True)])
    assert flow.answers == {} and flow.finished == ["partial"]
    assert session.exchanged[-2] == (ASK_YES_NO, "200 result=-1 endpos=8000\n")
    command, reply = session.exchanged[-1]
    assert command == "WAIT FOR DIGIT 5000" and reply.startswith("511 Command Not Permitted")


async def test_a_required_question_never_answered_ends_the_call_partial() -> None:
    flow, session = await survey([Press("8"), Press("*"), Pause()])
    assert flow.answers == {} and flow.finished == ["partial"]
    assert session.commands.count(ASK_YES_NO) == 3  # 1 + retries (2)
    assert session.commands.count('STREAM FILE invalid ""') == 2
    assert session.commands[-2:] == ['STREAM FILE vm-goodbye ""', "HANGUP"]
    assert ASK_NPS not in session.commands


async def test_an_optional_question_is_skipped_after_its_retries() -> None:
    flow, _session = await survey([Pause(), Press("5"), Press("1")], (COMMENT_OK, YES_NO))
    assert flow.skipped == ["callback"]
    assert flow.answers == {"recommend": ("yes", "1")}
    assert flow.finished == ["complete"]


async def test_an_unknown_script_is_told_so_and_hung_up_on() -> None:
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO])})
    async with serving(flows) as server:
        session = await call(server, ScriptedRespondent([]), script="nope")
    assert flows.made == [] and [s for s, _ in flows.asked] == ["nope"]
    assert session.commands == ["ANSWER", 'STREAM FILE ss-noservice ""', "HANGUP"]


async def test_a_question_without_sound_files_is_spoken_by_the_tts_application() -> None:
    spoken = KeypadQuestion("q", (), tts='Press 1 if "yes"', digits={"1": "yes"})
    flow, session = await survey([Press("1")], (spoken,), tts_application="Festival")
    assert 'EXEC Festival "Press 1 if \\"yes\\""' in session.commands
    assert flow.answers == {"q": ("yes", "1")}


async def test_missing_sound_files_still_read_keys() -> None:
    """The lab has no sound files: every ``STREAM FILE`` answers -1, keys are still read."""
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO, NPS])})
    async with serving(flows) as server:
        target = AgiTarget(port=server.port)
        caller = ScriptedRespondent([Press("2"), Press("7")])
        agi = AsteriskAgi(target, IVAN, caller, time_scale=0, sounds=frozenset())
        session = await agi.run()
    assert flows.made[0].answers == {"recommend": ("no", "2"), "nps": (7, "7")}
    assert (ASK_YES_NO, "200 result=-1 endpos=0\n") in session.exchanged


VALID = {"q-recommend": ("1", "2"), "q-nps": tuple(str(n) for n in range(11))}


Played = tuple[RecordingFlow, AgiSession, list[str]]


async def run_population(seed: int, calls: int) -> list[Played]:
    profile = RespondentProfile(answer=0.7, pause=0.12, wrong=0.12, hangup=0.06, valid=VALID,
                                early=0.3, seed=seed)  # fmt: skip
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO, NPS])})
    out = []
    async with serving(flows) as server:
        for n in range(calls):
            info = ChannelInfo(channel=f"Local/h{n}@customer-phone-0000{n:04d};1",
                               uniqueid=f"1795421531.{n}", callerid="+74951234567")  # fmt: skip
            respondent = profile.respondent(info.uniqueid)
            session = await call(server, respondent, info=info)
            out.append((flows.made[-1], session, list(respondent.done)))
    return out


async def test_a_seeded_population_of_respondents_through_the_socket() -> None:
    results = await run_population(seed=11, calls=40)
    statuses = [flow.finished for flow, _, _ in results]
    assert all(len(s) == 1 for s in statuses)
    complete = [flow for flow, _, _ in results if flow.finished == ["complete"]]
    partial = [flow for flow, _, _ in results if flow.finished == ["partial"]]
    assert complete and partial  # both kinds occur in 40 calls at these shares
    for flow, session, done in results:
        for question in (YES_NO, NPS):
            if question.id in flow.answers:
                value, keys = flow.answers[question.id]
                assert interpret(question, keys) == value  # only valid answers are stored
        if flow.finished == ["complete"]:
            assert set(flow.answers) == {"recommend", "nps"}
            assert session.commands[-1] == "HANGUP" and "hangup" not in done
        else:
            assert set(flow.answers) != {"recommend", "nps"}
        if "hangup" in done:
            assert flow.finished == ["partial"] and session.hung_up
    again = await run_population(seed=11, calls=40)
    assert [(f.answers, f.finished) for f, _, _ in again] == [
        (f.answers, f.finished) for f, _, _ in results
    ]


async def test_the_survey_logs_hold_no_caller_number_or_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await survey([Press("1"), HangUp()])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "1795421531.42" in text  # the call is named by its uniqueid
    assert "+74951234567" not in text and "Ivan" not in text


@pytest.mark.parametrize(
    ("keys", "value"),
    [("", None), ("0", 0), ("10", 10), ("11", None), ("007", None), ("1*", None), ("5", 5)],
)
def test_interpret_a_number(keys: str, value: int | None) -> None:
    assert interpret(NPS, keys) == value


def test_questions_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match=r"'q'.*digits"):
        KeypadQuestion("q", ("p",), digits={"12": "x"})
    with pytest.raises(ValueError, match="prompt files or a tts"):
        KeypadQuestion("q", ())
    with pytest.raises(ValueError, match="minimum is above maximum"):
        KeypadQuestion("q", ("p",), max_digits=2, minimum=5, maximum=1)
    with pytest.raises(ValueError, match="prompts"):
        KeypadQuestion("q", ("bad name",), digits={"1": "x"})
