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
from typing import TYPE_CHECKING, Literal, TypeVar

from cti.errors import FileAccessError, ValidationError
from cti.pbxsim.calls import (
    CallSpec,
    ClickOutcome,
    ClickToDialCall,
    InboundCall,
    IvrCall,
    MessageCall,
    OutboundCall,
    Outcome,
    QueueCall,
    TransferCall,
)

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

Kind = Literal[
    "inbound", "missed", "queue", "abandoned", "transfer", "ivr", "outbound", "click-to-dial"
]
KINDS: tuple[Kind, ...] = (
    "inbound", "missed", "queue", "abandoned", "transfer", "ivr", "outbound", "click-to-dial"
)  # fmt: skip
DEFAULT_MIX: dict[Kind, float] = {
    "inbound": 0.3,
    "missed": 0.1,
    "queue": 0.25,
    "abandoned": 0.05,
    "transfer": 0.05,
    "ivr": 0.05,
    "outbound": 0.15,
    "click-to-dial": 0.05,
}
DEFAULT_OUTCOMES: dict[Outcome, float] = {
    "answer": 0.6,
    "busy": 0.12,
    "no-answer": 0.23,
    "congestion": 0.05,
}
TransferKind = Literal["blind", "attended", "blonde"]
IvrKind = Literal["survey", "message", "menu-hangup"]
DEFAULT_TRANSFERS: dict[TransferKind, float] = {"blind": 0.5, "attended": 0.35, "blonde": 0.15}
DEFAULT_IVR: dict[IvrKind, float] = {"survey": 0.4, "message": 0.4, "menu-hangup": 0.2}
DEFAULT_CLICK_OUTCOMES: dict[ClickOutcome, float] = {
    "answer": 0.75,
    "busy": 0.05,
    "no-answer": 0.1,
    "congestion": 0.05,
    "no-route": 0.05,
}
T = TypeVar("T")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """What traffic to generate. Shares are relative weights (they need not sum to 1).

    ``mix`` picks a call's kind; the other shares say how a kind plays out: a ``queue`` or
    ``abandoned`` call goes through the IVR menu first (``queue_ivr_share``); of the
    ``abandoned`` ones (nobody served the caller) the queue itself gives up at
    ``queue_timeout`` seconds in ``queue_timeout_share`` of them (else the caller hangs up);
    an ``ivr`` call is the survey (AGI), a message the PBX plays, or a caller who hangs up
    in the menu (``ivr_kinds``); ``transfer_kinds`` (blind / attended / blonde) and the
    outcomes of the dialer's and of click-to-dial's numbers (``click_to_dial_outcomes``:
    ``no-route`` is a number cti-outbound cannot reach).
    """

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
    queue_ivr_share: float = 0.3
    queue_timeout_share: float = 0.3
    queue_timeout: float = 30.0
    ivr_kinds: Mapping[IvrKind, float] = field(default_factory=lambda: dict(DEFAULT_IVR))
    transfer_kinds: Mapping[TransferKind, float] = field(
        default_factory=lambda: dict(DEFAULT_TRANSFERS)
    )
    click_to_dial_outcomes: Mapping[ClickOutcome, float] = field(
        default_factory=lambda: dict(DEFAULT_CLICK_OUTCOMES)
    )

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
        for name in ("queue_ivr_share", "queue_timeout_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValidationError(f"{name} must be within 0..1", details={"field": name})
        if self.queue_timeout <= 0:
            raise ValidationError("queue_timeout must be > 0", details={"field": "queue_timeout"})
        for name in ("ivr_kinds", "transfer_kinds", "click_to_dial_outcomes"):
            shares: Mapping[str, float] = getattr(self, name)
            if any(w < 0 for w in shares.values()) or sum(shares.values()) <= 0:
                raise ValidationError(f"{name} needs positive shares", details={"field": name})


def _pick(rng: random.Random, shares: Mapping[T, float], default: T) -> T:
    """One key of ``shares`` with its weight (``default`` when none has any)."""
    keys = [k for k, w in shares.items() if w > 0]
    return rng.choices(keys, [shares[k] for k in keys])[0] if keys else default


def plan_calls(
    profile: TrafficProfile,
    agents: Sequence[str],
    queues: Mapping[str, Sequence[str]],
    *,
    dialer_agent: str | None = None,
) -> Iterator[tuple[float, CallSpec]]:
    """Yield ``(delay before this call, spec)`` forever (or ``max_calls`` times)."""
    rng = random.Random(profile.seed)
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
        kind = _pick(rng, profile.mix, "inbound")
        if kind in ("queue", "abandoned") and not queue_names:
            kind = "inbound"
        number = rng.choice(profile.numbers)
        talk = round(max(1.0, rng.lognormvariate(mu, sigma)), 3)
        ring = round(min(profile.ring_max, max(0.5, rng.expovariate(1 / profile.ring_mean))), 3)
        call = _Call(rng, profile, n, number, profile.names.get(number, ""), ring, talk)
        agent = rng.choice(agent_list)
        spec: CallSpec
        if kind in ("inbound", "missed"):
            spec = InboundCall(number, call.name, agent, ring, talk, answer=kind == "inbound")
        elif kind in ("queue", "abandoned"):
            queue = rng.choice(queue_names)
            spec = call.queue(queue, rng.choice(list(queues[queue])), kind == "queue")
        elif kind == "transfer":
            target = rng.choice([a for a in agent_list if a != agent] or agent_list)
            how = _pick(rng, profile.transfer_kinds, "blind")
            spec = TransferCall(number, call.name, agent, target, how, ring, talk / 2)
        elif kind == "ivr":
            spec = call.ivr()
        elif kind == "click-to-dial":
            spec = call.click_to_dial(agent, _pick(rng, profile.click_to_dial_outcomes, "answer"))
        else:
            outcome = _pick(rng, profile.outbound_outcomes, "answer")
            spec = OutboundCall(
                number.lstrip("+"), outcome, dialer_agent or agent, ring, talk,
                action_id=f"pbxsim-dialer-{n}",
                variables=(("CAMPAIGN", "pbxsim"), ("LEAD_ID", str(n))), account="pbxsim",
            )  # fmt: skip
        yield delay, spec


@dataclass(frozen=True, slots=True)
class _Call:
    """What one planned call has drawn so far, and how its less common kinds are built."""

    rng: random.Random
    profile: TrafficProfile
    n: int
    number: str
    name: str
    ring: float
    talk: float

    def queue(self, queue: str, member: str, answered: bool) -> QueueCall:
        """Answered by ``member``, or not served: the caller leaves or the queue times out."""
        p = self.profile
        ivr = 3.0 if self.rng.random() < p.queue_ivr_share else 0.0
        timeout = not answered and self.rng.random() < p.queue_timeout_share
        return QueueCall(
            self.number, self.name, queue, "500", p.queue_timeout + 30 if timeout else self.ring,
            self.talk, answer=answered, answered_by=member, ivr_seconds=ivr,
            timeout=p.queue_timeout if timeout else None,
        )  # fmt: skip

    def ivr(self) -> IvrCall | MessageCall:
        how = _pick(self.rng, self.profile.ivr_kinds, "survey")
        if how == "survey":
            return IvrCall(self.number, self.name, seconds=min(self.talk, 30.0))
        if how == "message":
            return MessageCall(self.number, self.name, seconds=min(self.talk, 30.0))
        return MessageCall(self.number, self.name, seconds=round(self.rng.uniform(0.5, 2.5), 3),
                           menu=True)  # fmt: skip

    def click_to_dial(self, agent: str, outcome: ClickOutcome) -> ClickToDialCall:
        """``no-route``: the number in national format (8…), which cti-outbound cannot send."""
        number = self.number.lstrip("+")
        if outcome == "no-route":
            number = "8" + number[1:]
        return ClickToDialCall(
            agent, number, outcome, self.ring, self.talk, action_id=f"pbxsim-click-{self.n}"
        )


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
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FileAccessError(
            f"{path}: cannot read the numbers file ({reason}): check --numbers",
            details={"file": str(path)},
        ) from None
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
