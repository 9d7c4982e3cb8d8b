"""The called population of a campaign: what the person behind a dialled number does.

Every dial of a number draws its :class:`Callee` from a RNG seeded with ``(seed, number,
how many times this number was dialled before)``, so a campaign replays identically
whatever order the dialer dials in, and a redial of the same number may go differently
(busy now, answered later). Whether a number exists at all is a property of the number,
drawn once (``invalid`` stays invalid on every redial).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cti.errors import ValidationError
from cti.pbxsim.calls import Outcome

OUTCOMES: tuple[Outcome, ...] = ("answer", "busy", "no-answer", "congestion", "invalid")
Distribution = Literal["exponential", "lognormal"]
DEFAULT_OUTCOMES: dict[Outcome, float] = {
    "answer": 0.30,
    "busy": 0.10,
    "no-answer": 0.50,
    "congestion": 0.05,
    "invalid": 0.05,
}


@dataclass(frozen=True, slots=True)
class Population:
    """Who answers a campaign's calls, and how (times in simulated seconds).

    ``outcomes``: relative weights of what a dial meets (``invalid`` is drawn once per
    number). An answering callee picks up after a lognormal ring of mean ``ring_mean``
    (``ring_sigma``: the log's standard deviation), unless the Originate ``Timeout`` runs
    out first (then it is a no-answer, Reason 3); talks ``talk_mean`` on average
    (``talk_distribution``, ``talk_sigma`` for lognormal), at least ``talk_min``; and,
    waiting in the queue for an agent, hangs up after a lognormal ``patience_mean``
    (``patience_sigma``). ``machine``: the share of answered calls an answering machine
    takes (its greeting and recording last ``machine_seconds``; it never hangs up sooner).
    ``seed`` makes it all reproducible.
    """

    outcomes: Mapping[Outcome, float] = field(default_factory=lambda: dict(DEFAULT_OUTCOMES))
    ring_mean: float = 8.0
    ring_sigma: float = 0.5
    talk_mean: float = 90.0
    talk_distribution: Distribution = "exponential"
    talk_sigma: float = 0.8
    talk_min: float = 5.0
    patience_mean: float = 6.0
    patience_sigma: float = 0.4
    machine: float = 0.0
    machine_seconds: float = 20.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name, weight in self.outcomes.items():
            if name not in OUTCOMES:
                raise ValidationError(
                    f"population outcomes: unknown outcome {name!r} (one of {', '.join(OUTCOMES)})"
                )
            if not weight >= 0:
                raise ValidationError(f"population outcomes.{name}: must be >= 0, got {weight}")
        if sum(self.outcomes.values()) <= 0:
            raise ValidationError("population outcomes: at least one weight must be > 0")
        if not 0 <= self.machine <= 1:
            raise ValidationError(f"population machine: a share from 0 to 1, got {self.machine}")
        for knob in ("ring_mean", "talk_mean", "patience_mean", "machine_seconds"):
            if not getattr(self, knob) > 0:
                raise ValidationError(f"population {knob}: must be > 0")
        for knob in ("ring_sigma", "talk_sigma", "patience_sigma", "talk_min"):
            if not getattr(self, knob) >= 0:
                raise ValidationError(f"population {knob}: must be >= 0")
        if self.talk_distribution not in ("exponential", "lognormal"):
            raise ValidationError(
                f"population talk_distribution: {self.talk_distribution!r} is not "
                "'exponential' or 'lognormal'"
            )


@dataclass(frozen=True, slots=True)
class Callee:
    """One dial's draw: the outcome and, answered, ring, talk and queue patience (s);
    ``machine``: an answering machine picks up."""

    number: str
    outcome: Outcome
    ring: float
    talk: float
    patience: float
    machine: bool = False


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    """A lognormal value whose mean (not median) is ``mean``."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


class Dialled:
    """Draws callees of a :class:`Population`, counting each number's dials."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.dials: Counter[str] = Counter()
        weights = dict(population.outcomes)
        self._invalid = weights.pop("invalid", 0.0) / sum(population.outcomes.values())
        self._kinds = list(weights)
        self._weights = list(weights.values())

    def draw(self, number: str) -> Callee:
        """The callee met by the next dial of ``number``."""
        p = self.population
        nth = self.dials[number]
        self.dials[number] += 1
        if random.Random(f"{p.seed}/{number}").random() < self._invalid:
            return Callee(number, "invalid", 0.0, 0.0, 0.0)
        rng = random.Random(f"{p.seed}/{number}/{nth}")
        outcome: Outcome = "no-answer"
        if sum(self._weights) > 0:
            outcome = rng.choices(self._kinds, self._weights)[0]
        ring = lognormal(rng, p.ring_mean, p.ring_sigma)
        if p.talk_distribution == "exponential":
            talk = rng.expovariate(1 / p.talk_mean)
        else:
            talk = lognormal(rng, p.talk_mean, p.talk_sigma)
        patience = lognormal(rng, p.patience_mean, p.patience_sigma)
        if rng.random() < p.machine:
            return Callee(number, outcome, ring, p.machine_seconds, p.machine_seconds, True)
        return Callee(number, outcome, ring, max(p.talk_min, talk), patience)
