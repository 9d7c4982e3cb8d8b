"""The simulator against the recorded Asterisk 22 traces: same events, fields, call records.

Each scenario is driven over real TCP exactly as the recorder did (log in, send the
``*.sent`` bytes); the bytes the client receives are compared with the ``*.ami`` trace:
the same sequence of event names and, per event, the same field names in the same order
(ids, times and ``Timestamp:`` headers aside; security events such as ``SuccessfulAuth``
are not modelled). Then both byte streams go through ``cti.ami.replay`` and must give the
same call record.
"""

from __future__ import annotations

import pytest

from cti.ami import replay
from tests.pbxsim.amiclient import AmiClient, field_names, split_messages
from tests.pbxsim.conftest import A22, lab_simulator

SCENARIOS = [
    "inbound-answered",
    "inbound-missed",
    "outbound-answered",
    "outbound-busy",
    "outbound-noanswer",
    "queue-answered",
    "agi-survey",
]
IGNORED_EVENTS = {b"SuccessfulAuth", b"ChallengeSent", b"InvalidPassword"}
RECORD_FIELDS = (
    "direction",
    "from_number",
    "to_number",
    "queue",
    "agents_rung",
    "agent",
    "status",
    "hangup_cause",
    "originate",
)

pytestmark = pytest.mark.traces


def shape(data: bytes, *, timestamps: bool = False) -> list[tuple[str, list[str]]]:
    """(event name or ``Response``, field names) per message; ``Timestamp`` is left out
    unless ``timestamps`` (then it must be where the PBX put it)."""
    out = []
    for block in split_messages(data):
        names = [n for n in field_names(block) if timestamps or n != "Timestamp"]
        first = block.split(b"\r\n", 1)[0]
        if first.startswith(b"Event: "):
            if first[7:] in IGNORED_EVENTS:
                continue
            out.append((first[7:].decode(), names))
        elif first.startswith(b"Response: "):
            out.append(("Response", names))
    return out


async def run_scenario(name: str, *, timestamps: bool = False) -> bytes:
    """Log in, send the recorder's actions, return every byte received after the login
    response (so ``FullyBooted`` comes first, as in the recorded trace)."""
    sim = lab_simulator(timestamps=timestamps)
    await sim.start()
    try:
        ami = await AmiClient.connect(sim.port)
        try:
            assert (await ami.login())["Response"] == "Success"
            ami.recorded.clear()
            await ami.send_raw((A22 / f"{name}.sent").read_bytes())
            await ami.until_call_done()
            return bytes(ami.recorded)
        finally:
            await ami.close()
    finally:
        await sim.stop()


@pytest.mark.parametrize("name", SCENARIOS)
async def test_same_events_and_fields_as_recorded(name: str) -> None:
    data = await run_scenario(name)
    recorded = shape((A22 / f"{name}.ami").read_bytes())
    simulated = shape(data)
    assert [n for n, _ in simulated] == [n for n, _ in recorded]
    for i, (sim_msg, rec_msg) in enumerate(zip(simulated, recorded, strict=True)):
        assert sim_msg == rec_msg, f"message {i} ({rec_msg[0]}) differs"


async def test_timestamps_are_the_only_extra_header() -> None:
    data = await run_scenario("inbound-answered", timestamps=True)
    events = [b for b in split_messages(data) if b.startswith(b"Event: Newchannel")]
    assert events and all(b"\r\nTimestamp: " in b for b in events)
    recorded = shape((A22 / "inbound-answered.ami").read_bytes())
    assert [n for n, _ in shape(data)] == [n for n, _ in recorded]


@pytest.mark.parametrize("name", SCENARIOS)
async def test_same_call_record_as_recorded(name: str) -> None:
    data = await run_scenario(name)
    simulated = replay.replay_bytes(data)
    recorded = replay.replay_bytes((A22 / f"{name}.ami").read_bytes())
    assert len(simulated) == len(recorded) == 1
    for field in RECORD_FIELDS:
        assert getattr(simulated[0], field) == getattr(recorded[0], field), field
    assert simulated[0].linkedid != recorded[0].linkedid  # fresh ids, not a copy
