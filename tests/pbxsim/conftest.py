"""Fixtures: the lab simulator (agents/queue/pstn as in asterisk22/config) on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cti.pbxsim.calls import AgentProfile, QueueState
from cti.pbxsim.server import PbxSimulator
from tests.needs import TRACES
from tests.pbxsim.amiclient import AmiClient

A22 = TRACES / "asterisk22"

#: the agent phones of the recorded lab's extensions.conf
LAB_AGENTS = {
    "101": AgentProfile(2, 2),
    "102": AgentProfile(120, 0, answers=False),
    "103": AgentProfile(1, 3),
    "104": AgentProfile(1, 30),
    "105": AgentProfile(1, 2),
    "201": AgentProfile(2, 3),
    "202": AgentProfile(10, 3),
}
LAB_PSTN = {
    "79161110002": "busy",
    "79161110003": "no-answer",
    "79161110004": "congestion",
    "89161110005": "invalid",  # no such extension in [pstn]
}


def lab_queues() -> dict[str, QueueState]:
    """queues.conf of the lab: ``support``, and cti's ``sales`` (no queue variables)."""
    return {
        "support": QueueState("support", ["201", "202"]),
        "sales": QueueState("sales", ["102"], set_vars=False),
    }


def lab_simulator(time_scale: float = 0.001, **kwargs: object) -> PbxSimulator:
    return PbxSimulator(
        users={"cti": "cti-secret"},
        agents=LAB_AGENTS,
        queues=lab_queues(),
        queue_numbers={"500": "support"},
        dialer_agent="103",
        pstn=LAB_PSTN,  # type: ignore[arg-type]
        time_scale=time_scale,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = lab_simulator()
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def slow_sim() -> AsyncIterator[PbxSimulator]:
    """Real time: a call placed with long rings stays up for the whole test."""
    simulator = lab_simulator(time_scale=1.0)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def client(sim: PbxSimulator) -> AsyncIterator[AmiClient]:
    ami = await AmiClient.connect(sim.port)
    assert (await ami.login())["Response"] == "Success"
    try:
        yield ami
    finally:
        await ami.close()
