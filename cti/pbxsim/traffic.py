"""Background call traffic for the simulator: a seeded, configurable mix of scenarios.

``plan_calls(profile, …)`` is a pure generator of ``(delay_seconds, CallSpec)`` from a
seeded RNG, so the mix is deterministic and testable; ``run_traffic(sim, profile)`` feeds
it to a running :class:`~cti.pbxsim.server.PbxSimulator` (delays in simulated seconds).
Caller numbers come from ``profile.numbers`` (the demo passes numbers read from the CRM
store; the simulator never imports the store).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from cti.errors import ValidationError
from cti.pbxsim.calls import (
    CallSpec,
    InboundCall,
    IvrCall,
    OutboundCall,
    Outcome,
    QueueCall,
    TransferCall,
)

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

Kind = Literal["inbound", "missed", "queue", "abandoned", "transfer", "ivr", "outbound"]
KINDS: tuple[Kind, ...] = ("inbound", "missed", "queue", "abandoned", "transfer", "ivr", "outbound")
DEFAULT_MIX: dict[Kind, float] = {
    "inbound": 0.3,
    "missed": 0.1,
    "queue": 0.25,
    "abandoned": 0.05,
    "transfer": 0.05,
    "ivr": 0.05,
    "outbound": 0.2,
}
DEFAULT_OUTCOMES: dict[Outcome, float] = {"answer": 0.6, "busy": 0.15, "no-answer": 0.25}
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """What traffic to generate. Shares are relative weights (they need not sum to 1)."""

    calls_per_second: float = 1.0
    numbers: Sequence[str] = ("+74951234567",)
    names: Mapping[str, str] = field(default_factory=dict)
    mix: Mapping[Kind, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    outbound_outcomes: Mapping[Outcome, float] = field(
        default_factory=lambda: dict(DEFAULT_OUTCOMES)
    )
    talk_mean: float = 60.0  # lognormal talk time: mean seconds …
    talk_sigma: float = 0.8  # … and shape
    ring_mean: float = 6.0  # exponential ring time (mean seconds), capped by ring_max
    ring_max: float = 25.0
    seed: int | None = 0
    max_calls: int | None = None
    poisson: bool = True  # exponential inter-arrival times (else evenly spaced)

    def __post_init__(self) -> None:
        if self.calls_per_second <= 0:
            raise ValidationError(
                "calls_per_second must be > 0", details={"field": "calls_per_second"}
            )
        if not self.numbers:
            raise ValidationError("numbers must not be empty", details={"field": "numbers"})
        for kind, weight in self.mix.items():
            if kind not in KINDS or weight < 0:
                raise ValidationError(f"bad mix entry {kind}={weight}", details={"field": "mix"})
        if sum(self.mix.values()) <= 0:
            raise ValidationError("mix must have a positive share", details={"field": "mix"})
        if self.talk_mean <= 0 or self.ring_mean <= 0:
            raise ValidationError(
                "talk_mean and ring_mean must be > 0", details={"field": "talk_mean"}
            )


def plan_calls(
    profile: TrafficProfile,
    agents: Sequence[str],
    queues: Mapping[str, Sequence[str]],
    *,
    dialer_agent: str | None = None,
) -> Iterator[tuple[float, CallSpec]]:
    """Yield ``(delay before this call, spec)`` forever (or ``max_calls`` times)."""
    rng = random.Random(profile.seed)
    kinds = [k for k in KINDS if profile.mix.get(k, 0) > 0]
    weights = [profile.mix[k] for k in kinds]
    outcomes = [o for o, w in profile.outbound_outcomes.items() if w > 0]
    out_weights = [profile.outbound_outcomes[o] for o in outcomes]
    queue_names = [name for name, members in queues.items() if members]
    agent_list = list(agents) or ["101"]
    sigma = profile.talk_sigma
    mu = math.log(profile.talk_mean) - sigma * sigma / 2
    n = 0
    while profile.max_calls is None or n < profile.max_calls:
        n += 1
        if profile.poisson:
            delay = rng.expovariate(profile.calls_per_second)
        else:
            delay = 1.0 / profile.calls_per_second
        kind = rng.choices(kinds, weights)[0]
        if kind in ("queue", "abandoned") and not queue_names:
            kind = "inbound"
        number = rng.choice(profile.numbers)
        name = profile.names.get(number, "")
        talk = round(max(1.0, rng.lognormvariate(mu, sigma)), 3)
        ring = round(min(profile.ring_max, max(0.5, rng.expovariate(1 / profile.ring_mean))), 3)
        agent = rng.choice(agent_list)
        spec: CallSpec
        if kind in ("inbound", "missed"):
            spec = InboundCall(number, name, agent, ring, talk, answer=kind == "inbound")
        elif kind in ("queue", "abandoned"):
            queue = rng.choice(queue_names)
            members = list(queues[queue])
            spec = QueueCall(
                number, name, queue, "500", ring, talk, answer=kind == "queue",
                answered_by=rng.choice(members),
            )  # fmt: skip
        elif kind == "transfer":
            target = rng.choice([a for a in agent_list if a != agent] or agent_list)
            how = cast(Literal["blind", "attended"], rng.choice(["blind", "attended"]))
            spec = TransferCall(number, name, agent, target, how, ring, talk / 2)
        elif kind == "ivr":
            spec = IvrCall(number, name, seconds=min(talk, 30.0))
        else:
            outcome = rng.choices(outcomes, out_weights)[0] if outcomes else "answer"
            spec = OutboundCall(
                number.lstrip("+"), outcome, dialer_agent or agent, ring, talk,
                action_id=f"pbxsim-dialer-{n}",
                variables=(("CAMPAIGN", "pbxsim"), ("LEAD_ID", str(n))), account="pbxsim",
            )  # fmt: skip
        yield delay, spec


async def run_traffic(sim: PbxSimulator, profile: TrafficProfile) -> None:
    """Place the planned calls on ``sim`` at the planned pace until cancelled."""
    queues = {name: q.members for name, q in sim.queues.items()}
    agents = [a for a in sim.agents if not any(a in m for m in queues.values())]
    plan = plan_calls(profile, agents or list(sim.agents), queues, dialer_agent=sim.dialer_agent)
    for delay, spec in plan:
        await asyncio.sleep(delay * sim.time_scale)
        await sim.place_call(spec)


def read_numbers(path: Path) -> tuple[list[str], dict[str, str]]:
    """Read ``number[,name]`` lines (``#`` comments); errors name ``file:line``."""
    numbers: list[str] = []
    names: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read numbers file: {exc}") from exc
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        number, _, name = (part.strip() for part in line.partition(","))
        number = number.replace(" ", "").replace("-", "")
        if not _NUMBER.match(number):
            raise ValidationError(
                f"{path}:{lineno}: not a phone number: {raw.strip()!r}",
                details={"file": str(path), "line": lineno},
            )
        numbers.append(number)
        if name:
            names[number] = name
    if not numbers:
        raise ValidationError(f"{path}: no numbers in file", details={"file": str(path)})
    return numbers, names
