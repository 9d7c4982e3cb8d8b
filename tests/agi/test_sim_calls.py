"""Simulated survey calls reach the FastAGI server: the PBX simulator's IVR (``from-trunk``
600, ``IvrCall``, generated ``ivr`` traffic) runs ``AGI()`` against it, its respondents
answer, the AMI stream shows each real command as ``AGIExecStart``/``AGIExecEnd``, and
the call record is the one of the recorded survey call."""

from __future__ import annotations

from collections import Counter

from cti.ami import replay
from cti.ami.events import CallRecord
from cti.pbxsim.agi import AgiTarget
from cti.pbxsim.calls import IvrCall
from cti.pbxsim.ivr_agi import LiveAgi
from cti.pbxsim.respondents import RespondentProfile
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import TrafficProfile
from tests.agi.flows import NPS, YES_NO, Flows, RecordingFlow, serving
from tests.ami.tracehelp import ASTERISK22, needs_traces
from tests.pbxsim.amiclient import AmiClient

VALID = {"q-recommend": ("1", "2"), "q-nps": tuple(str(n) for n in range(11))}


def outcome(record: CallRecord) -> tuple[object, ...]:
    return record.direction, record.status, record.answered_by, record.queue


Played = tuple[Flows, list[dict[str, str]], bytes]


async def survey_calls(profile: RespondentProfile, calls: int) -> Played:
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO, NPS])})
    async with serving(flows) as server:
        live = LiveAgi(AgiTarget(port=server.port), profile)
        sim = PbxSimulator(agents=["101"], time_scale=0.0005, agi=live)
        await sim.start()
        ami = await AmiClient.connect(sim.port)
        try:
            await ami.login()
            for n in range(calls):
                handle = await sim.place_call(IvrCall(f"+7495123456{n}", "Ivan Petrov"))
                await handle.done
            await ami.send(Action="Ping", ActionID="sync")
            messages = await ami.until(lambda m: m.get("ActionID") == "sync")
        finally:
            await ami.close()
            await sim.stop()
    return flows, messages, bytes(ami.recorded)


@needs_traces
async def test_a_simulated_survey_call_runs_against_the_server() -> None:
    profile = RespondentProfile(answer=1, pause=0, wrong=0, hangup=0, valid=VALID, seed=1)
    flows, messages, data = await survey_calls(profile, 1)
    (flow,) = flows.made
    assert flow.finished == ["complete"] and set(flow.answers) == {"recommend", "nps"}
    assert flow.env is not None and flow.env.args == ("campaign42", "ru")
    assert flow.env.callerid == "+74951234560" and flow.env.channel.endswith(";1")
    starts = [m["Command"] for m in messages if m.get("Event") == "AGIExecStart"]
    ends = [(m["Command"], m["ResultCode"]) for m in messages if m.get("Event") == "AGIExecEnd"]
    assert starts[0] == "ANSWER" and starts[-1] == "HANGUP"
    assert [c for c, _ in ends] == starts and {code for _, code in ends} == {"200"}
    agi = [m for m in messages if m.get("Event") == "Newexten" and m.get("Application") == "AGI"]
    assert agi[0]["AppData"].startswith("agi://127.0.0.1:") and agi[0]["AppData"].endswith(
        "/survey,campaign42,ru"
    )
    (record,) = replay.replay_bytes(data)
    (recorded,) = replay.replay_bytes((ASTERISK22 / "agi-survey.ami").read_bytes())
    assert outcome(record) == outcome(recorded)


@needs_traces
async def test_respondents_who_hang_up_leave_partial_surveys_and_the_calls_end() -> None:
    profile = RespondentProfile(answer=0.6, pause=0.1, wrong=0.1, hangup=0.2, valid=VALID, seed=5)
    flows, messages, data = await survey_calls(profile, 12)
    assert len(flows.made) == 12 and all(len(f.finished) == 1 for f in flows.made)
    statuses = Counter(f.finished[0] for f in flows.made)
    assert statuses["partial"] and statuses["complete"]
    records = replay.replay_bytes(data)
    assert len(records) == 12 and not any(r.partial for r in records)
    (recorded,) = replay.replay_bytes((ASTERISK22 / "agi-survey.ami").read_bytes())
    assert {outcome(r) for r in records} == {outcome(recorded)}
    status = [m["Value"] for m in messages if m.get("Variable") == "AGISTATUS"]
    assert set(status) == {"HANGUP"} and len(status) == 12


async def test_generated_ivr_traffic_reaches_the_server() -> None:
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO, NPS])})
    async with serving(flows) as server:
        live = LiveAgi(AgiTarget(port=server.port), RespondentProfile(valid=VALID, seed=2))
        sim = PbxSimulator(agents=["101"], time_scale=0.0005, agi=live)
        await sim.start()
        try:
            traffic = TrafficProfile(
                calls_per_second=50, numbers=["+74951234567"], mix={"ivr": 1.0},
                ivr_kinds={"survey": 1.0}, seed=3, max_calls=6,
            )  # fmt: skip
            sim.start_traffic(traffic)
            await sim.drain()
        finally:
            await sim.stop()
    assert len(flows.made) == 6 and all(f.finished for f in flows.made)
