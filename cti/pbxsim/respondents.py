"""Simulated survey respondents: what a caller does when the IVR waits for keys.

A respondent is asked at each point where Asterisk would read keys: while a prompt plays
with escape digits (:meth:`during_prompt`: it may press the first key early, or hang up)
and at ``WAIT FOR DIGIT`` / ``GET DATA`` (:meth:`keys`). It hears the prompt by its sound
file name; the caller of a real survey understands the question, a simulated one is told
the valid answers per prompt (``valid``) and otherwise keys digits.

* :class:`Respondent`: seeded draws per input (answer, pause, wrong key, hang up), so a
  call plays the same way for the same seed and call id;
* :class:`ScriptedRespondent`: exact actions in order (the tests).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

#: how a respondent meets one input point
Kind = Literal["answer", "pause", "wrong", "hangup"]


@dataclass(frozen=True, slots=True)
class Press:
    """Key these keys (``early``: during the prompt, the first one stopping it)."""

    keys: str
    early: bool = False


@dataclass(frozen=True, slots=True)
class Pause:
    """Press nothing until the IVR's timeout."""


@dataclass(frozen=True, slots=True)
class HangUp:
    """Hang up (``early``: while the prompt plays)."""

    early: bool = False


Action = Press | Pause | HangUp


class Caller(Protocol):
    """What Asterisk's side asks a simulated caller."""

    def during_prompt(self, sound: str) -> Action | None:
        """While ``sound`` plays with escape digits: an early action, or ``None`` (listen)."""
        ...

    def keys(self, sound: str | None, max_digits: int) -> Action:
        """Keys are read now (``sound``: the last prompt heard)."""
        ...


@dataclass(frozen=True)
class RespondentProfile:
    """How a population of respondents behaves (shares of the input points, summing to
    anything positive), and the valid answers per prompt file."""

    answer: float = 0.8
    pause: float = 0.1
    wrong: float = 0.05
    hangup: float = 0.05
    #: prompt sound → the key sequences that answer it (``{"nps-q1": ("0", …, "10")}``)
    valid: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: of the answers, the share keyed while the prompt still plays
    early: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        shares = (self.answer, self.pause, self.wrong, self.hangup)
        if min(shares) < 0 or sum(shares) <= 0:
            raise ValueError("respondent shares must be >= 0 with a positive sum")

    def respondent(self, call_id: str) -> Respondent:
        """The respondent of one call: its draws depend on (seed, call id) only."""
        return Respondent(self, random.Random(f"{self.seed}/{call_id}"))


class Respondent:
    """Draws one :data:`Kind` per input point from its profile (seeded: see
    :meth:`RespondentProfile.respondent`)."""

    def __init__(self, profile: RespondentProfile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng
        self._next: Action | None = None
        #: what it did, in order (tests, statistics)
        self.done: list[Kind] = []

    def _draw(self) -> Kind:
        p = self.profile
        kinds: tuple[Kind, ...] = ("answer", "pause", "wrong", "hangup")
        weights = (p.answer, p.pause, p.wrong, p.hangup)
        kind = self.rng.choices(kinds, weights)[0]
        self.done.append(kind)
        return kind

    def during_prompt(self, sound: str) -> Action | None:
        if self._next is not None:
            return None
        kind = self._draw()
        action = self._act(kind, sound, 0)
        if isinstance(action, Press) and self.rng.random() < self.profile.early:
            return Press(action.keys, early=True)
        self._next = action  # decided now, done when the keys are read
        return None

    def keys(self, sound: str | None, max_digits: int) -> Action:
        action, self._next = self._next, None
        if action is None:
            action = self._act(self._draw(), sound, max_digits)
        if isinstance(action, Press) and max_digits:
            return Press(action.keys[:max_digits])
        return action

    def _act(self, kind: Kind, sound: str | None, max_digits: int) -> Action:
        valid = list(self.profile.valid.get(sound or "", ()))
        if kind == "pause":
            return Pause()
        if kind == "hangup":
            return HangUp()
        if kind == "wrong":
            wrong = [k for k in "0123456789*" if k not in valid]
            return Press(self.rng.choice(wrong or ["*"]))
        if valid:
            return Press(self.rng.choice(valid))
        return Press(str(self.rng.randint(1, 5)))


class ScriptedRespondent:
    """Does exactly ``actions``, in order; early ones at the next prompt with escape digits,
    the others when keys are read. Out of actions: pauses."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self.actions = list(actions)

    def during_prompt(self, sound: str) -> Action | None:
        if self.actions and getattr(self.actions[0], "early", False):
            return self.actions.pop(0)
        return None

    def keys(self, sound: str | None, max_digits: int) -> Action:
        return self.actions.pop(0) if self.actions else Pause()
