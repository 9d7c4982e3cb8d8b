"""A minimal real AMI client over asyncio streams, for driving the simulator in tests."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


def parse_block(block: bytes) -> dict[str, str]:
    """One AMI message → first value per key (enough for assertions)."""
    out: dict[str, str] = {}
    for line in block.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep or line.endswith(":"):
            out.setdefault(key.rstrip(":"), value)
    return out


def split_messages(data: bytes) -> list[bytes]:
    return [b for b in data.split(b"\r\n\r\n") if b.strip()]


def field_names(block: bytes) -> list[str]:
    return [line.partition(b":")[0].decode() for line in block.split(b"\r\n") if line]


@dataclass
class AmiClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    greeting: bytes = b""
    recorded: bytearray = field(default_factory=bytearray)

    @classmethod
    async def connect(cls, port: int) -> AmiClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        greeting = await reader.readline()
        return cls(reader, writer, greeting)

    async def send(self, **headers: str | list[str]) -> None:
        lines = []
        for key, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key}: {item}\r\n")
        self.writer.write(("".join(lines) + "\r\n").encode())
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next_message(self) -> dict[str, str]:
        block = await self.reader.readuntil(b"\r\n\r\n")
        self.recorded += block
        return parse_block(block[:-4])

    async def until(self, pred: object) -> list[dict[str, str]]:
        """Read messages until ``pred(msg)`` is true; return all read (including that one)."""
        seen = []
        while True:
            msg = await self.next_message()
            seen.append(msg)
            if pred(msg):  # type: ignore[operator]
                return seen

    async def response(self, action_id: str) -> dict[str, str]:
        msgs = await self.until(lambda m: "Response" in m and m.get("ActionID") == action_id)
        return msgs[-1]

    async def login(self, user: str = "cti", secret: str = "cti-secret") -> dict[str, str]:
        await self.send(Action="Login", ActionID="login", Username=user, Secret=secret)
        return await self.response("login")

    async def until_call_done(self) -> list[dict[str, str]]:
        """Read until an OriginateResponse was seen and every channel seen has hung up."""
        live: set[str] = set()
        answered = False
        seen = []
        while True:
            msg = await self.next_message()
            seen.append(msg)
            event = msg.get("Event")
            if event == "Newchannel":
                live.add(msg["Channel"])
            elif event == "Hangup":
                live.discard(msg["Channel"])
            elif event == "OriginateResponse":
                answered = True
            if answered and not live:
                return seen

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
