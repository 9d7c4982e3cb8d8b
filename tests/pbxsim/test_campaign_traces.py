"""Campaign calls of the simulator against the campaign lab's recordings of Asterisk 22.

The recordings (``tests/traces/asterisk22/campaign/NAME.ami`` and the actions that made
them, ``NAME.sent``) come from the lab of ``extensions_campaign.conf`` /
``queues_campaign.conf``: queue ``campaign`` with agent 107 (answers after 1 s), queue
``campaign-empty`` with nobody, and the lab's ``[pstn]`` numbers. Driven with the same
actions, the simulator must send the same events with the same fields; where Asterisk's
threads interleave differently from one run to the next, the order may differ, so what is
compared is each event's count and field names (``Cdr`` aside: the lab sent none).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from cti.pbxsim.calls import AgentProfile, QueueState
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.population import Population
from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient, field_names, parse_block, split_messages

CAMPAIGN = Path(__file__).resolve().parents[1] / "traces" / "asterisk22" / "campaign"
NAMES = (
    "campaign-answered", "campaign-abandoned", "campaign-busy", "campaign-noanswer",
    "campaign-congestion", "campaign-invalid", "campaign-no-endpoint", "queue-member-actions",
)  # fmt: skip
#: the lab's [pstn] numbers (79161110011: rings 2 s, answers; 79161110009: Hangup(1))
LAB_PSTN = {
    "79161110002": "busy",
    "79161110003": "no-answer",
    "79161110004": "congestion",
    "79161110009": "invalid",
    "79161110011": "answer",
}
IGNORED = {"Cdr", "FullyBooted", "SuccessfulAuth"}


def lab() -> PbxSimulator:
    return PbxSimulator(
        agents={"107": AgentProfile(1, 3)},
        queues={
            "campaign": QueueState("campaign", ["107"], set_vars=False, ringinuse=False),
            "campaign-empty": QueueState("campaign-empty", [], set_vars=False, ringinuse=False),
        },
        pstn=LAB_PSTN,  # type: ignore[arg-type]
        time_scale=0.001,
        timestamps=True,
        device_states=True,
        cdrs=False,
        campaign=Campaign(Population(seed=1)),
    )


def actions(path: Path) -> list[dict[str, list[str]]]:
    out = []
    for block in path.read_text().replace("\r\n", "\n").split("\n\n"):
        headers: dict[str, list[str]] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            headers.setdefault(key, []).append(value)
        if headers:
            out.append(headers)
    return out


def shapes(blocks: list[bytes]) -> Counter[tuple[str, ...]]:
    """Each event's name (with the variable a ``VarSet`` sets) and its field names."""
    out: Counter[tuple[str, ...]] = Counter()
    for block in blocks:
        msg = parse_block(block)
        event = msg.get("Event")
        if event is None or event in IGNORED:
            continue
        name = f"VarSet {msg['Variable']}" if event == "VarSet" else event
        out[(name, *field_names(block))] += 1
    return out


async def replay(name: str) -> list[bytes]:
    """Send ``NAME.sent`` to the lab simulator, one action after the other's call ended."""
    sim = lab()
    await sim.start()
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.login()
        for n, action in enumerate(actions(CAMPAIGN / f"{name}.sent")):
            action["ActionID"] = [f"x{n}"]
            await ami.send(**{k: v if len(v) > 1 else v[0] for k, v in action.items()})
            await ami.response(f"x{n}")
            while sim.calls:
                await asyncio.gather(*(h.done for h in list(sim.calls.values())))
        await ami.send(Action="Ping", ActionID="end")
        await ami.response("end")  # every event before it is out
        return split_messages(bytes(ami.recorded))
    finally:
        await ami.close()
        await sim.stop()


@pytest.mark.parametrize("name", NAMES)
async def test_campaign_call_has_the_recorded_events(name: str) -> None:
    recorded = split_messages((CAMPAIGN / f"{name}.ami").read_bytes())
    assert shapes(await replay(name)) == shapes(recorded)
