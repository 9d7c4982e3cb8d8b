"""The simulator against cti's own Asterisk 22 recordings (``tests/traces/asterisk22``).

Each scenario is driven over real TCP by ``scripts/record_traces.py``'s own scenario code
(``drive.py``: send, wait for an event, send), on a simulator set up like that lab:
timestamps on, no ``Cdr`` events, ``DeviceStateChange`` on, and the thread interleaving of
the recording pinned (``Races``: real Asterisk orders those events differently from one run
to the next). What the client receives must have the recording's event names and, per
event, its field names in the same order, ``Timestamp`` included; both byte streams must
give the same call record through ``cti.ami.replay``, ids and times aside.
"""

from __future__ import annotations

from typing import Any

import pytest

from cti.ami import replay
from cti.pbxsim import clicktodial, cti_inbound, features, outbound
from cti.pbxsim.calls import Races
from tests.pbxsim.conftest import lab_simulator
from tests.pbxsim.drive import CTI_TRACES, SCENARIOS, actions, drive
from tests.pbxsim.test_traces import shape

#: the interleaving each recording shows (the scripts' own tables)
RACES: dict[str, Races] = {
    "click-to-dial-answered": clicktodial.ANSWERED,
    "click-to-dial-congestion": clicktodial.CONGESTION,
    "click-to-dial-noroute": clicktodial.NO_ROUTE,
    "outbound-congestion": outbound.CONGESTION,
    "outbound-invalid": Races(),
    "queue-timeout": cti_inbound.QUEUE_TIMEOUT,
    "queue-abandoned": cti_inbound.QUEUE_ABANDONED,
    "ivr-then-queue": cti_inbound.MENU_QUEUE,
    "ivr-answered": cti_inbound.MESSAGE,
    "ivr-caller-hangs-up": cti_inbound.MENU_LEFT,
    "blind-transfer": features.BLIND,
    "attended-transfer": features.ATTENDED,
    "blonde-transfer": features.BLONDE,
}
#: queue-abandoned was recorded right after queue-timeout on the same PBX, whose device
#: state cache already held the sales queue's ``_avail`` state (so no event for it)
KNOWN_STATES = {"queue-abandoned": {"Queue:sales_avail": "NOT_INUSE"}}
#: the driver reacts to events while the call waits: give it room (its 1 s pause before
#: the target's 3 s talk ends leaves 200 ms)
REACTIVE = {"blind-transfer", "attended-transfer", "blonde-transfer"}
#: Asterisk read the two actions of this recording as one batch (see ``SimRecorder``)
BATCHED = {"blonde-transfer"}
#: keys of a call record whose values are ids or times
_VOLATILE = {"linkedid", "rings", "talks"}

_played: dict[str, tuple[bytes, bytes]] = {}


async def played(name: str) -> tuple[bytes, bytes]:
    """(received, sent) of scenario ``name`` on a fresh simulator, once per test run."""
    if name not in _played:
        sim = lab_simulator(
            time_scale=0.1 if name in REACTIVE else 0.002,
            timestamps=True, cdrs=False, device_states=True, races=RACES[name],
        )  # fmt: skip
        sim.emitter.known_states.update(KNOWN_STATES.get(name, {}))
        await sim.start()
        try:
            _played[name] = await drive(sim, name, batch=name in BATCHED)
        finally:
            await sim.stop()
    return _played[name]


def comparable(value: Any) -> Any:
    """A record's JSON without ids and times (robust to keys added to ``CallRecord``)."""
    if isinstance(value, dict):
        return {
            k: comparable(v)
            for k, v in value.items()
            if k not in _VOLATILE and not k.endswith(("_at", "_seconds"))
        }
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def test_every_recording_has_a_scenario() -> None:
    assert sorted(p.stem for p in CTI_TRACES.glob("*.ami")) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_driven_like_the_recorder(name: str) -> None:
    _, sent = await played(name)
    assert actions(sent) == actions((CTI_TRACES / f"{name}.sent").read_bytes())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_same_events_and_fields_as_recorded(name: str) -> None:
    data, _ = await played(name)
    recorded = shape((CTI_TRACES / f"{name}.ami").read_bytes(), timestamps=True)
    simulated = shape(data, timestamps=True)
    assert [n for n, _ in simulated] == [n for n, _ in recorded]
    for i, (sim_msg, rec_msg) in enumerate(zip(simulated, recorded, strict=True)):
        assert sim_msg == rec_msg, f"message {i} ({rec_msg[0]}) differs"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_same_call_record_as_recorded(name: str) -> None:
    data, _ = await played(name)
    simulated = replay.replay_bytes(data)
    recorded = replay.replay_bytes((CTI_TRACES / f"{name}.ami").read_bytes())
    assert len(simulated) == len(recorded) == 1
    assert comparable(simulated[0].to_json()) == comparable(recorded[0].to_json())
    assert simulated[0].linkedid != recorded[0].linkedid  # fresh ids, not a copy
