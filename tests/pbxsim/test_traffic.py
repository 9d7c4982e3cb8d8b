"""The traffic generator: deterministic mix from a seed; every generated call plays out."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from statistics import mean

import pytest

from cti.ami import replay
from cti.ami.events import CallRecord
from cti.ami.parser import AmiParser
from cti.errors import ValidationError
from cti.pbxsim.calls import (
    CallSpec,
    ClickToDialCall,
    InboundCall,
    IvrCall,
    MessageCall,
    OutboundCall,
    QueueCall,
    TransferCall,
)
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import KINDS, TrafficProfile, plan_calls, read_numbers
from tests.pbxsim.amiclient import AmiClient
from tests.pbxsim.conftest import A22, lab_simulator
from tests.pbxsim.drive import CTI_TRACES

AGENTS = ["101", "103", "104", "105"]
QUEUES = {"support": ["201", "202"]}
NUMBERS = ["+74951234567", "+74957654321", "+79161234567"]
#: the recording of each outcome of the dialer and of click-to-dial (busy and no-answer of
#: click-to-dial have none, so the test below leaves them out)
DIALER = {"answer": "outbound-answered", "busy": "outbound-busy",
          "no-answer": "outbound-noanswer", "congestion": "outbound-congestion",
          "invalid": "outbound-invalid"}  # fmt: skip
CLICK = {"answer": "click-to-dial-answered", "congestion": "click-to-dial-congestion",
         "no-route": "click-to-dial-noroute"}  # fmt: skip


def kind_of(spec: CallSpec) -> str:
    if isinstance(spec, InboundCall):
        return "inbound" if spec.answer else "missed"
    if isinstance(spec, QueueCall):
        return "queue" if spec.answer else "abandoned"
    if isinstance(spec, TransferCall):
        return "transfer"
    if isinstance(spec, IvrCall | MessageCall):
        return "ivr"
    if isinstance(spec, ClickToDialCall):
        return "click-to-dial"
    return "outbound"


def recording(spec: CallSpec) -> Path:
    """The recorded call this spec plays again (with other numbers and times)."""
    if isinstance(spec, InboundCall):
        return A22 / ("inbound-answered.ami" if spec.answer else "inbound-missed.ami")
    if isinstance(spec, QueueCall):
        if spec.answer:
            return (
                CTI_TRACES / "ivr-then-queue.ami"
                if spec.ivr_seconds
                else A22 / "queue-answered.ami"
            )
        return CTI_TRACES / ("queue-timeout.ami" if spec.timeout else "queue-abandoned.ami")
    if isinstance(spec, IvrCall):
        return A22 / "agi-survey.ami"
    if isinstance(spec, MessageCall):
        return CTI_TRACES / ("ivr-caller-hangs-up.ami" if spec.menu else "ivr-answered.ami")
    if isinstance(spec, TransferCall):
        return CTI_TRACES / f"{spec.kind}-transfer.ami"
    if isinstance(spec, ClickToDialCall):
        return CTI_TRACES / f"{CLICK[spec.outcome]}.ami"
    name = f"{DIALER[spec.outcome]}.ami"
    return A22 / name if (A22 / name).exists() else CTI_TRACES / name


def outcome(record: CallRecord) -> tuple[object, ...]:
    """What a record says happened, numbers, ids and times aside."""
    kinds = tuple(t.kind for t in record.transfers)
    return record.direction, record.status, kinds, record.queue is not None


@cache
def recorded_outcome(path: Path) -> tuple[object, ...]:
    (record,) = replay.replay_bytes(path.read_bytes())
    return outcome(record)


def test_mix_follows_the_configured_shares() -> None:
    mix = {"inbound": 4.0, "missed": 1.0, "queue": 3.0, "abandoned": 1.0, "outbound": 1.0}
    outcomes = {"answer": 0.5, "busy": 0.2, "no-answer": 0.3}
    profile = TrafficProfile(
        calls_per_second=50, numbers=NUMBERS, mix=mix, outbound_outcomes=outcomes,  # type: ignore[arg-type]
        talk_mean=60, seed=7, max_calls=5000,
    )  # fmt: skip
    plan = list(plan_calls(profile, AGENTS, QUEUES))
    assert len(plan) == 5000
    counts = Counter(kind_of(spec) for _, spec in plan)
    for kind, share in mix.items():
        assert abs(counts[kind] / 5000 - share / 10) < 0.02, kind
    out = Counter(s.outcome for _, s in plan if isinstance(s, OutboundCall))
    total = sum(out.values())
    for outcome, share in profile.outbound_outcomes.items():
        assert abs(out[outcome] / total - share) < 0.05, outcome
    assert abs(mean(d for d, _ in plan) - 1 / 50) < 0.002  # 50 calls/s on average
    talks = [s.talk_seconds for _, s in plan if isinstance(s, InboundCall) and s.answer]
    assert 50 < mean(talks) < 70  # lognormal with mean 60 s
    assert {s.caller for _, s in plan if isinstance(s, InboundCall)} == set(NUMBERS)


def test_same_seed_same_calls_other_seed_other_calls() -> None:
    def first(seed: int) -> list[tuple[float, CallSpec]]:
        profile = TrafficProfile(numbers=NUMBERS, seed=seed, max_calls=50)
        return list(plan_calls(profile, AGENTS, QUEUES))

    assert first(1) == first(1)
    assert first(1) != first(2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"calls_per_second": 0}, "calls_per_second"),
        ({"numbers": []}, "numbers"),
        ({"mix": {"inbound": -1}}, "mix"),
        ({"mix": {"bogus": 1}}, "mix"),
    ],
)
def test_profile_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        TrafficProfile(**kwargs)  # type: ignore[arg-type]
    assert err.value.details["field"] == field


def test_numbers_file(tmp_path: Path) -> None:
    good = tmp_path / "numbers.txt"
    good.write_text("# customers\n+74951234567, Ivan Petrov\n\n8 916 123-45-67\n")
    numbers, names = read_numbers(good)
    assert numbers == ["+74951234567", "89161234567"]
    assert names == {"+74951234567": "Ivan Petrov"}
    bad = tmp_path / "bad.txt"
    bad.write_text("+74951234567\nnot-a-number\n")
    with pytest.raises(ValidationError, match=r"bad\.txt:2: not a phone number"):
        read_numbers(bad)


async def test_generated_calls_play_out_as_planned() -> None:
    """Every planned call ends; replayed, each record says what the recording of that kind
    of call says (status, direction, transfers, queue)."""
    profile = TrafficProfile(
        calls_per_second=5, numbers=NUMBERS, names={NUMBERS[0]: "Ivan Petrov"},
        mix={kind: 1.0 for kind in KINDS}, click_to_dial_outcomes={k: 1.0 for k in CLICK},  # type: ignore[misc]
        outbound_outcomes={k: 1.0 for k in DIALER},  # type: ignore[misc]
        talk_mean=3, ring_mean=2, seed=11, max_calls=80, queue_timeout=8,
    )  # fmt: skip
    sim: PbxSimulator = lab_simulator(time_scale=0.0005)
    await sim.start()
    ami = await AmiClient.connect(sim.port)
    try:
        await ami.login()
        sim.start_traffic(profile)
        await sim.drain()
        await ami.send(Action="Ping", ActionID="sync")
        await ami.response("sync")
    finally:
        await ami.close()
        await sim.stop()
    queues = {name: q.members for name, q in sim.queues.items()}
    agents = [a for a in sim.agents if a not in {m for ms in queues.values() for m in ms}]
    plan = [spec for _, spec in plan_calls(profile, agents, queues, dialer_agent=sim.dialer_agent)]
    assert {kind_of(spec) for spec in plan} == set(KINDS)
    records = replay.replay_bytes(bytes(ami.recorded))
    assert len(records) == 80
    # the parser's filters (unused events, VarSets that change nothing) lose nothing
    whole = replay.Replayer()
    whole.parser = AmiParser()
    data = bytes(ami.recorded)
    assert records == whole.feed(data) + whole.end_of_file() + whole.finish()
    dialed = [r.originate for r in records if r.originate and r.originate.action_id
              and r.originate.action_id.startswith("pbxsim-dialer-")]  # fmt: skip
    assert dialed and all(o.variables.get("CAMPAIGN") == "pbxsim" for o in dialed)
    assert not any(r.partial for r in records)
    expected = Counter(recorded_outcome(recording(spec)) for spec in plan)
    assert Counter(outcome(r) for r in records) == expected
    assert not sim.emitter.channels and not sim.emitter.bridges
