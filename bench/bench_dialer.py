"""Pacing: progressive vs predictive on a simulated call floor, in simulated time.

    .venv/bin/python bench/bench_dialer.py [--hours 2] [--agents 20] [--answer 0.30]
        [--talk 90] [--wrap 15] [--ring 15] [--seed 7] [--modes progressive,predictive]
        [--target 2.5] [--fixed-ratio R]

What runs for real: the dialer engine (:class:`cti.dialer.engine.DialerEngine`: pacing,
claims, Originates, outcomes, agent states, the pure core) on a real SQLite store, with a
campaign loaded from a campaign file and a list imported through the list importer. What is
simulated: the PBX and the people, as a discrete-event model fed by the engine's Originate
actions and answering with the call events the tracker would emit (``CallAnswered``,
``CallEnded`` with the call record, ``OriginateFailed``): each number answers with
probability ``--answer`` after 3–12 s of ringing (else busy after 2 s, congestion, or rings
until the campaign's ring time); an answered person is put through to the agent free longest
(the queue) if one is free within the campaign's connect limit (2 s), else abandoned; talk is
exponential with mean ``--talk`` s, then the agent wraps up for ``--wrap`` s (queue
``wrapuptime``). Time is simulated: the engine's clock is the model's, one engine round per
simulated second, so two simulated hours take a minute or two of real time.

Measured per mode: talk minutes per agent hour, occupancy ((talk + wrap-up) / logged-in
time), abandon rate (abandoned / answered by a person), contacts (answered by a person) per
hour, calls dialled per hour, the final pacing ratio. With 90 s talk and 15 s wrap-up talk
cannot exceed 90/105 of an hour: 51.4 minutes per agent hour.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from cti.ami.actions import ActionValue
from cti.ami.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallInfo,
    CallRecord,
    OriginateInfo,
    TalkSegment,
)
from cti.config import AuthConfig, PhoneConfig
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.dialer.engine import DialerEngine, EngineSettings
from cti.dialer.list_service import ListService
from cti.dialer.service import CampaignService

CAMPAIGN = Path(__file__).resolve().parents[1] / "cti" / "campaigns" / "lead-qualification.yaml"
#: Monday 06:00 UTC (09:00 in Moscow): the whole run is inside the call window
T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "23:59"}


@dataclass
class Floor:
    """The simulated PBX: the people called and the agents in the campaign's queue."""

    rng: random.Random
    answer_rate: float
    talk_mean: float
    wrap: float
    ring_limit: float
    connect_limit: float
    agents: list[str]
    #: what happens next, by simulated second: call events for the engine, and the model's
    #: own steps (a person answering) as callables
    events: list[tuple[float, int, CallEvent | Callable[[], None]]] = field(default_factory=list)
    #: agent → simulated second they are free again (the queue's wrapuptime included)
    free_at: dict[str, float] = field(default_factory=dict)
    now: float = 0.0
    talk_total: float = 0.0
    wrap_total: float = 0.0
    _seq: Any = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.free_at = {a: 0.0 for a in self.agents}

    def at(self, seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    def emit(self, when: float, event: CallEvent | Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self._seq), event))

    async def send_action(self, action: dict[str, ActionValue]) -> dict[str, str]:
        if action.get("Action") == "Originate":
            self.originate(str(action["ActionID"]), str(action["Channel"]))
        return {"Response": "Success"}

    def originate(self, action_id: str, channel: str) -> None:
        info = CallInfo(
            pbx="sim",
            call_id=f"call-{action_id}",
            direction="outbound",
            from_number=None,
            from_name=None,
            to_number=channel,
            originate=OriginateInfo(action_id=action_id),
        )
        start = self.now
        draw = self.rng.random()
        if draw < self.answer_rate:
            answer = start + self.rng.uniform(3.0, 12.0)
            self.emit(answer, lambda: self._answered(info, start, answer))
            return
        rest = (draw - self.answer_rate) / (1 - self.answer_rate)
        if rest < 0.15:
            status, cause, end = "busy", 17, start + 2.0
        elif rest < 0.20:
            status, cause, end = "failed", 34, start + 1.0  # congestion
        else:
            status, cause, end = "no-answer", 19, start + self.ring_limit
        self.emit(
            end, CallEnded(info, self._record(info, status, cause, start, None, end, ()), None)
        )

    def _answered(self, info: CallInfo, start: float, answer: float) -> None:
        """The person answers (now, at ``answer``): the queue puts them through to the agent
        free longest, or plays the message if nobody is free within the connect limit. Run
        at answer time, in answer order, as a queue does: not when the call was placed."""
        self.emit(answer, CallAnswered(info, None, None))
        agent = min(self.free_at, key=lambda a: self.free_at[a])
        connect = max(answer + 0.5, self.free_at[agent])
        if connect - answer > self.connect_limit:  # nobody free in time: the message, bye
            end = answer + self.connect_limit + 3.0
            record = self._record(info, "answered", 16, start, answer, end, ())
            self.emit(end, CallEnded(info, record, None))
            return
        talk = self.rng.expovariate(1 / self.talk_mean)
        end = connect + talk
        self.free_at[agent] = end + self.wrap
        self.talk_total += talk
        self.wrap_total += self.wrap
        self.emit(connect, CallAnswered(info, agent, None))
        segment = TalkSegment(agent, self.at(connect), self.at(end))
        record = self._record(info, "answered", 16, start, answer, end, (segment,))
        self.emit(end, CallEnded(info, record, None))

    def _record(
        self,
        info: CallInfo,
        status: str,
        cause: int,
        start: float,
        answer: float | None,
        end: float,
        talks: tuple[TalkSegment, ...],
    ) -> CallRecord:
        return CallRecord(
            pbx="sim",
            linkedid=info.call_id,
            direction="outbound",
            from_number=None,
            from_name=None,
            to_number=info.to_number,
            queue=None,
            agents_rung=tuple(t.agent for t in talks),
            agent=talks[0].agent if talks else None,
            status=status,  # type: ignore[arg-type]
            started_at=self.at(start),
            answered_at=self.at(answer) if answer is not None else None,
            ended_at=self.at(end),
            ring_seconds=(answer if answer is not None else end) - start,
            talk_seconds=end - answer if answer is not None else None,
            hangup_cause=cause,
            talks=talks,
            originate=info.originate,
        )


def _fixed(args: argparse.Namespace) -> dict[str, float]:
    """``--fixed-ratio R``: predictive at a ratio of R throughout (no adaptation), to map the
    pacing model's occupancy/abandon curve apart from the controller that moves along it."""
    if args.fixed_ratio is None:
        return {}
    return {"initial_ratio": args.fixed_ratio, "max_ratio": args.fixed_ratio}


async def _setup(store: Store, mode: str, agents: int, leads: int, args: argparse.Namespace) -> int:
    data = yaml.safe_load(CAMPAIGN.read_text())
    data.update(
        name=f"bench-{mode}",
        mode=mode,
        windows=[ALWAYS],
        ring_seconds=args.ring,
        wrap_up_seconds=args.wrap,
        max_channels=agents * 4,
        max_attempts=3,
        pacing={**data["pacing"], "target_abandon_percent": args.target, **_fixed(args)},
        connect={"context": "cti-campaign", "exten": "s", "queue": "bench", "limit_seconds": 2},
    )
    svc = CampaignService(store)
    campaign = (await svc.load_data(data, source="bench")).campaign
    rows = "phone\n" + "".join(f"+7495{n:07d}\n" for n in range(1, leads + 1))
    await ListService(store, PhoneConfig()).import_text(campaign, rows.encode(), list_name="bench")
    users = UserService(store, AuthConfig())
    repo = DialerRepo(store)
    for n in range(agents):
        ext = f"{200 + n}"
        user = await users.create(
            UserIn.model_validate(
                {"username": f"{mode}{ext}", "password": "x" * 12, "extensions": [ext]}
            )
        )
        await repo.join(campaign.id, user.id, ext, T0)
    await svc.change(campaign.id, "start")
    return campaign.id


async def run_mode(mode: str, args: argparse.Namespace) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="cti-bench-dialer-"))
    store = await Store.open(f"sqlite+aiosqlite:///{folder / 'cti.db'}")
    try:
        leads = int(args.agents * args.hours * 3600 / (args.talk + args.wrap) / args.answer * 1.5)
        campaign_id = await _setup(store, mode, args.agents, leads, args)
        floor = Floor(
            rng=random.Random(args.seed),
            answer_rate=args.answer,
            talk_mean=args.talk,
            wrap=args.wrap,
            ring_limit=args.ring,
            connect_limit=2.0,
            agents=[f"{200 + n}" for n in range(args.agents)],
        )
        clock: Callable[[], datetime] = lambda: floor.at(floor.now)  # noqa: E731
        engine = DialerEngine(
            store,
            lambda: {"sim": floor},  # type: ignore[dict-item]
            EngineSettings(name=f"bench-{mode}", stats_every=10.0),
            clock=clock,
        )
        started = time.perf_counter()
        end = args.hours * 3600
        second = 0
        while second <= end:
            while floor.events and floor.events[0][0] <= second:
                floor.now, _, event = heapq.heappop(floor.events)
                if callable(event):
                    event()
                else:
                    await engine.handle(event)
            floor.now = float(second)
            await engine.tick()
            second += 1
        real = time.perf_counter() - started
        figures = await _figures(store, campaign_id, args, floor, real)
        return figures
    finally:
        await store.close()


async def _figures(
    store: Store, campaign_id: int, args: argparse.Namespace, floor: Floor, real: float
) -> dict[str, float]:
    from sqlalchemy import func, select

    from cti.crm_store.models.campaigns import Campaign, DialAttempt

    async with store.sessions() as session:
        rows = await session.execute(
            select(DialAttempt.outcome, func.count())
            .where(DialAttempt.campaign_id == campaign_id)
            .group_by(DialAttempt.outcome)
        )
        outcomes = {str(k): int(v) for k, v in rows}
        live = int(
            await session.scalar(
                select(func.count()).where(
                    DialAttempt.campaign_id == campaign_id, DialAttempt.live.is_(True)
                )
            )
            or 0
        )
        ratio = await session.scalar(
            select(Campaign.pacing_ratio).where(Campaign.id == campaign_id)
        )
    hours = args.hours
    agent_hours = args.agents * hours
    abandoned = outcomes.get("abandoned", 0)
    dialled = sum(v for k, v in outcomes.items() if k != "None")
    return {
        "talk_min_per_agent_hour": floor.talk_total / 60 / agent_hours,
        "occupancy_pct": 100 * (floor.talk_total + floor.wrap_total) / (agent_hours * 3600),
        "abandon_pct": 100 * abandoned / live if live else 0.0,
        "contacts_per_hour": live / hours,
        "dialled_per_hour": dialled / hours,
        "answered": outcomes.get("answered", 0),
        "abandoned": abandoned,
        "ratio": float(ratio or 0),
        "real_seconds": real,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--answer", type=float, default=0.30)
    parser.add_argument("--talk", type=float, default=90.0)
    parser.add_argument("--wrap", type=float, default=15.0)
    parser.add_argument("--ring", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", default="progressive,predictive")
    parser.add_argument(
        "--target",
        type=float,
        default=2.5,
        help="the abandon rate predictive steers to (%%; cap 3)",
    )
    parser.add_argument(
        "--fixed-ratio", type=float, default=None, help="predictive at this ratio, not adapted"
    )
    args = parser.parse_args()
    if args.fixed_ratio is not None:
        import cti.dialer.engine

        cti.dialer.engine.adapt_ratio = lambda ratio, *_a, **_k: ratio  # type: ignore[assignment]
    results = {mode: asyncio.run(run_mode(mode, args)) for mode in args.modes.split(",")}
    print(
        f"{args.agents} agents, {args.answer:.0%} answer, {args.talk:g} s talk, "
        f"{args.wrap:g} s wrap-up, {args.ring:g} s ring, {args.hours:g} simulated hours, "
        f"seed {args.seed}, abandon target {args.target:g} %"
        f"{'' if args.fixed_ratio is None else f', fixed ratio {args.fixed_ratio:g}'}; "
        f"talk ceiling {60 * args.talk / (args.talk + args.wrap):.1f} min/h"
    )
    header = ("mode", "talk min/agent h", "occupancy", "abandon", "contacts/h", "dialled/h",
              "answered", "abandoned", "final ratio", "real s")  # fmt: skip
    print(" | ".join(header))
    for mode, r in results.items():
        print(
            f"{mode} | {r['talk_min_per_agent_hour']:.1f} | {r['occupancy_pct']:.1f} % | "
            f"{r['abandon_pct']:.2f} % | {r['contacts_per_hour']:.0f} | "
            f"{r['dialled_per_hour']:.0f} | {r['answered']:.0f} | {r['abandoned']:.0f} | "
            f"{r['ratio']:.2f} | {r['real_seconds']:.0f}"
        )


if __name__ == "__main__":
    main()
