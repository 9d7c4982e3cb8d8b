"""Keypad surveys against a real Asterisk 22 (the lab of ``../shared/asterisk``, whose
``from-trunk`` 600 runs ``AGI(agi://127.0.0.1:4573/survey,campaign42,ru)``).

Marked ``asterisk`` and skipped, saying so, unless ``CTI_TEST_AMI`` names the lab's AMI
user (see ``tests/ami/test_live_asterisk.py``). The lab has no sound files and its callers
press no keys: the tests check the command sequence, the hang-up handling and the stored
results, not the audio. cti's FastAGI server listens on 127.0.0.1:4573 for them.
"""

from __future__ import annotations

import asyncio

import pytest

from cti.agi.keypad import KeypadQuestion, KeypadResult
from cti.agi.server import FastAgiServer
from cti.ami.actions import originate
from tests.agi.flows import Flows, RecordingFlow, config
from tests.ami.test_live_asterisk import IVAN, _config, connected

pytestmark = pytest.mark.asterisk

QUESTION = KeypadQuestion(
    "recommend", ("q-recommend",), digits={"1": "yes", "2": "no"}, retries=0, timeout_seconds=2
)


async def survey_call(customer: str) -> tuple[RecordingFlow, list[str], str]:
    """Originate the recorded lab's survey call; the flow, the commands sent, the status."""
    ami = _config("CTI_TEST_AMI")
    flows = Flows({"survey": lambda: RecordingFlow([QUESTION])})
    ended: asyncio.Future[KeypadResult] = asyncio.get_running_loop().create_future()
    server = FastAgiServer(config(port=4573), flows, on_result=lambda _, r: ended.set_result(r))
    await server.start()
    try:
        async with connected(ami) as (conn, _):
            await originate(
                conn, channel=f"Local/{customer}@customer-phone", context="from-trunk",
                exten="600", caller_id=IVAN, ring_seconds=30,
            )  # fmt: skip
            async with asyncio.timeout(30):
                result = await ended
    finally:
        await server.stop()
    (flow,) = flows.made
    return flow, result.commands, result.status


async def test_silence_on_a_required_question_ends_partial_and_hangs_up() -> None:
    flow, commands, status = await survey_call("h30")
    assert flow.env is not None and flow.env.args == ("campaign42", "ru")
    assert flow.env.callerid == "+74951234567" and flow.env.get("version").startswith("22.")
    assert commands == [
        "ANSWER",
        'STREAM FILE survey-intro ""',
        'STREAM FILE q-recommend "0123456789*#"',
        "WAIT FOR DIGIT 2000",
        'STREAM FILE vm-goodbye ""',
        "HANGUP",
    ]
    assert flow.answers == {} and flow.finished == ["partial"] and status == "partial"


async def test_a_caller_hanging_up_while_keys_are_read_is_seen() -> None:
    """The customer's phone leaves after 1 s, during ``WAIT FOR DIGIT``: Asterisk answers
    ``result=-1`` (or ``511`` after ``HANGUP``), and the survey is partial at once."""
    flow, commands, status = await survey_call("h1")
    assert flow.finished == ["partial"] and status == "partial"
    assert "HANGUP" not in commands  # the caller was gone: cti did not need to hang up
