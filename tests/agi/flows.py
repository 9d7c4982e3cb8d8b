"""A test double of the *consumer* of the keypad runner: a linear survey that records what
the runner hands it (the real survey service adapts to the same :class:`KeypadFlow`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from cti.agi.keypad import KeypadQuestion, KeypadResult, KeypadValue, Status
from cti.agi.protocol import AgiEnv
from cti.agi.server import FastAgiServer, FlowFactory
from cti.config import AgiConfig

YES_NO = KeypadQuestion("recommend", ("q-recommend",), digits={"1": "yes", "2": "no"})
NPS = KeypadQuestion("nps", ("q-nps",), max_digits=2, minimum=0, maximum=10)
COMMENT_OK = KeypadQuestion(
    "callback", ("q-callback",), digits={"1": "yes", "2": "no"}, required=False, retries=1
)


@dataclass
class RecordingFlow:
    """Asks ``questions`` in order; keeps every call the runner makes."""

    questions: Sequence[KeypadQuestion]
    env: AgiEnv | None = None
    intro_prompts: tuple[str, ...] = ("survey-intro",)
    closing_prompts: tuple[str, ...] = ("survey-thanks",)
    answers: dict[str, tuple[KeypadValue, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    finished: list[Status] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def intro(self) -> tuple[str, ...]:
        return self.intro_prompts

    async def next(self) -> KeypadQuestion | None:
        seen = set(self.answers) | set(self.skipped)
        return next((q for q in self.questions if q.id not in seen), None)

    async def answer(self, question_id: str, value: KeypadValue, digits: str) -> None:
        self.answers[question_id] = (value, digits)

    async def skip(self, question_id: str) -> None:
        self.skipped.append(question_id)

    async def finish(self, status: Status) -> None:
        self.finished.append(status)
        self.done.set()

    async def closing(self) -> tuple[str, ...]:
        return self.closing_prompts


class Flows:
    """A :data:`FlowFactory` serving ``script`` → a new :class:`RecordingFlow` per call."""

    def __init__(self, scripts: dict[str, Callable[[], RecordingFlow]]) -> None:
        self.scripts = scripts
        self.made: list[RecordingFlow] = []
        self.asked: list[tuple[str, AgiEnv]] = []

    async def __call__(self, script: str, env: AgiEnv) -> RecordingFlow | None:
        self.asked.append((script, env))
        make = self.scripts.get(script)
        if make is None:
            return None
        flow = make()
        flow.env = env
        self.made.append(flow)
        return flow


def config(**overrides: object) -> AgiConfig:
    """The server's settings for a test: any free port, short deadlines."""
    values: dict[str, object] = {"enabled": True, "port": 0, "command_timeout_seconds": 2.0}
    values.update(overrides)
    return AgiConfig.model_validate(values)


@asynccontextmanager
async def serving(
    flows: FlowFactory,
    on_result: Callable[[AgiEnv, KeypadResult], None] | None = None,
    **overrides: object,
) -> AsyncIterator[FastAgiServer]:
    async with FastAgiServer(config(**overrides), flows, on_result=on_result) as server:
        yield server
