"""A keypad survey on a real Asterisk 22 (the lab of ``../shared/asterisk``, whose
``from-trunk`` 600 runs ``AGI(agi://127.0.0.1:4573/survey,campaign42,ru)``): the caller's
keys are real DTMF (AMI ``PlayDTMF`` on the AGI channel, received as if keyed), the answers
go through cti's FastAGI server and the survey service into the store, filed under the
call's linkedid as the call record is.

Marked ``asterisk`` and skipped, saying so, unless ``CTI_TEST_AMI`` names the lab's AMI
user (see ``tests/ami/test_live_asterisk.py``). The lab has no sound files: prompts fail at
once (Asterisk says so the same way for every missing file) and the keys are what counts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from cti.agi.keypad import KeypadFlow, KeypadQuestion, KeypadValue, Status
from cti.agi.protocol import AgiEnv
from cti.agi.server import FastAgiServer
from cti.ami.actions import ActionSender, originate
from cti.ami.events import CallEnded
from cti.crm_store.store import Store
from cti.surveys.keypad import keypad_flows
from cti.surveys.script import parse_script
from cti.surveys.service import SurveyService
from tests.agi.flows import config
from tests.ami.test_live_asterisk import IVAN, _config, connected

pytestmark = pytest.mark.asterisk

SCRIPT = parse_script(
    {
        "name": "survey",
        "questions": [
            {"id": "consent", "text": "Two minutes?", "kind": "yesno", "prompt": ["q-consent"],
             "digits": {"1": "yes", "2": "no"}, "next": {"yes": "score", "no": "end"}},
            {"id": "score", "text": "0 to 10?", "kind": "scale", "min": 0, "max": 10,
             "measure": "nps", "prompt": ["q-score"]},
        ],
    },
    "live test",
)  # fmt: skip
#: the keys the caller presses for each question (``#`` ends a number early)
KEYS = {"consent": "1", "score": "9#"}


@dataclass
class KeyingCaller:
    """The survey's real flow, and the caller's keys sent as DTMF when a question is asked
    (a moment after: the missing prompt fails at once, then the keys are read)."""

    flow: KeypadFlow
    ami: ActionSender
    channel: str

    async def intro(self) -> tuple[str, ...]:
        return await self.flow.intro()

    async def next(self) -> KeypadQuestion | None:
        question = await self.flow.next()
        if question is not None:
            asyncio.get_running_loop().create_task(self.press(KEYS[question.id]))
        return question

    async def press(self, keys: str) -> None:
        await asyncio.sleep(0.5)
        for key in keys:
            await self.ami.send_action(
                {"Action": "PlayDTMF", "Channel": self.channel, "Digit": key,
                 "Duration": "120", "Receive": "true"}
            )  # fmt: skip
            await asyncio.sleep(0.3)

    async def answer(self, question_id: str, value: KeypadValue, digits: str) -> None:
        await self.flow.answer(question_id, value, digits)

    async def skip(self, question_id: str) -> None:
        await self.flow.skip(question_id)

    async def finish(self, status: Status) -> None:
        await self.flow.finish(status)

    async def closing(self) -> tuple[str, ...]:
        return await self.flow.closing()


async def test_a_keypad_survey_with_real_dtmf_is_stored_on_the_call(sqlite_store: Store) -> None:
    svc = SurveyService(sqlite_store)
    flows = keypad_flows(sqlite_store, svc, {"survey": SCRIPT}.get)
    async with connected(_config("CTI_TEST_AMI")) as (conn, calls):

        async def keyed(script: str, env: AgiEnv) -> KeypadFlow | None:
            flow = await flows(script, env)
            return None if flow is None else KeyingCaller(flow, conn, env.channel)

        server = FastAgiServer(config(port=4573), keyed)
        await server.start()
        try:
            await originate(
                conn, channel="Local/h30@customer-phone", context="from-trunk", exten="600",
                caller_id=IVAN, ring_seconds=30,
            )  # fmt: skip
            ended = await calls.first(lambda e: isinstance(e, CallEnded), within=40)
        finally:
            await server.stop()
    assert isinstance(ended, CallEnded)
    (response,) = await svc.repo.of_call(ended.record.linkedid)  # the call's own key
    answers = await svc.repo.answers(response.id)
    assert response.status == "complete" and response.mode == "keypad"
    assert {q: (a.value, a.raw) for q, a in answers.items()} == {
        "consent": (True, "1"),
        "score": (9, "9"),
    }
    (result,) = server.results.values()
    assert result.commands[:4] == [
        "ANSWER", 'STREAM FILE q-consent "0123456789*#"', "WAIT FOR DIGIT 5000",
        'STREAM FILE q-score "0123456789*#"',
    ]  # fmt: skip
