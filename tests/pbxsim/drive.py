"""Drive the simulator with ``scripts/record_traces.py``'s own scenarios: send → wait → send.

The recorder's scenario functions run unchanged against :class:`SimRecorder`, which offers
the recorder's ``send`` / ``wait_for`` over :class:`~tests.pbxsim.amiclient.AmiClient`; their
pauses (``asyncio.sleep``) run in simulated time. What they sent can then be compared with
the recorded ``NAME.sent`` (channel names aside: the simulator numbers its Local channels
itself).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cti.pbxsim.server import PbxSimulator
from tests.pbxsim.amiclient import AmiClient, parse_block, split_messages

ROOT = Path(__file__).resolve().parents[2]
#: cti's own Asterisk 22 recordings (timestamps on, no Cdr events, device states on)
CTI_TRACES = ROOT / "tests" / "traces" / "asterisk22"
SYNC = "pbxsim-test-sync"
_LOCAL_SEQ = re.compile(r"-[0-9a-f]{8};")

Msg = dict[str, str]


def _load_recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "record_traces", ROOT / "scripts" / "record_traces.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("scripts/record_traces.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recorder = _load_recorder()
SCENARIOS: dict[str, Callable[..., Any]] = recorder.SCENARIOS


@dataclass
class SimRecorder:
    """The recorder's interface over an :class:`AmiClient` logged in to the simulator.

    ``batch``: actions are written and left to the PBX, as the recorder does, so two sent
    in a row are read together; otherwise each waits for its response, so the events the
    first one caused are out before the next is read. Asterisk did the one in
    blonde-transfer (Setvar and Atxfer answered before the VarSet) and the other in
    attended-transfer."""

    ami: AmiClient
    batch: bool = False
    sent: bytearray = field(default_factory=bytearray)
    messages: list[Msg] = field(default_factory=list)

    async def send(self, action: Msg, *, keep: bool = True) -> None:
        data = ("".join(f"{k}: {v}\r\n" for k, v in action.items()) + "\r\n").encode()
        if keep:
            self.sent += data
        await self.ami.send_raw(data)
        if not self.batch and "ActionID" in action:
            aid = action["ActionID"]
            await self.wait_for(lambda m: "Response" in m and m.get("ActionID") == aid)

    async def wait_for(self, test: Callable[[Msg], bool], within: float = 30.0) -> Msg:
        """The first message so far (or to come) that passes ``test``."""
        for msg in self.messages:
            if test(msg):
                return msg
        async with asyncio.timeout(within):
            while True:
                msg = await self.ami.next_message()
                self.messages.append(msg)
                if test(msg):
                    return msg


class _SimulatedTime:
    """The recorder's ``asyncio`` module with ``sleep`` in simulated seconds."""

    def __init__(self, time_scale: float) -> None:
        self._scale = time_scale

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self._scale)


@contextmanager
def simulated_time(time_scale: float) -> Iterator[None]:
    names = vars(recorder)
    original = names["asyncio"]
    names["asyncio"] = _SimulatedTime(time_scale)
    try:
        yield
    finally:
        names["asyncio"] = original


async def drive(sim: PbxSimulator, name: str, *, batch: bool = False) -> tuple[bytes, bytes]:
    """Run the recorder's scenario ``name`` on a started ``sim``; return (bytes received
    after the login response, bytes sent). Returns once every call is over and its last
    events are in (a ``Ping`` answer comes after every event sent before it; those answers
    are left out)."""
    ami = await AmiClient.connect(sim.port)
    try:
        assert (await ami.login())["Response"] == "Success"
        ami.recorded.clear()
        rec = SimRecorder(ami, batch)
        with simulated_time(sim.time_scale):
            await SCENARIOS[name](rec, name)
        for n in (1, 2):  # the simulator has read every action; then every call has ended
            await ami.send(Action="Ping", ActionID=f"{SYNC}-{n}")
            await ami.response(f"{SYNC}-{n}")
            await sim.drain()
        kept = [b for b in split_messages(bytes(ami.recorded)) if SYNC.encode() not in b]
        return b"".join(b + b"\r\n\r\n" for b in kept), bytes(rec.sent)
    finally:
        await ami.close()


def actions(data: bytes) -> list[dict[str, str]]:
    """The actions of a ``.sent`` stream, Local channel numbers masked."""
    return [
        {k: _LOCAL_SEQ.sub("-*;", v) for k, v in parse_block(block).items()}
        for block in split_messages(data)
    ]
