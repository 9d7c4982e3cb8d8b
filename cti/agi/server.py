"""The FastAGI server inside the daemon: who may connect, one task per call, clean stop.

Asterisk's ``AGI(agi://HOST:4573/SCRIPT,ARG1,ARG2)`` opens a TCP connection per call. The
server accepts it only from ``[agi] allowed_peers`` (it writes survey answers: anyone else
is dropped before a byte is read, and logged once per address), reads the bounded variable
block within ``env_timeout_seconds``, asks the :data:`FlowFactory` for the script named in
the path and runs the keypad survey (:func:`cti.agi.keypad.run_keypad`). An unknown script
hears ``unknown_script_prompt`` and is hung up on.

Why our own protocol layer and not a library (``docs/keypad-surveys.md`` has the long form):
pyst2's AGI is synchronous over stdin/stdout (one process per call, blocking reads: it does
not fit an asyncio daemon). panoramisk's ``fast_agi`` is asyncio, but its variable block is
read without a bound or a deadline (and spins on a peer that closes early), replies have no
deadline, ``result=-1`` is always an error (yet a missing sound file gives it on a live
channel), ``200 result= (timeout)`` from ``GET DATA`` loses its empty result, a multi-line
``520-`` usage reply is read as one line and leaves the rest to desynchronize the next
command, and it has no peer allowlist. The protocol is small (:mod:`cti.agi.protocol`).

Logs name the peer address, the script and the call's ``agi_uniqueid``, never the caller's
number or name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from cti.agi.channel import AgiChannel, AgiHangup, AgiTimeout
from cti.agi.keypad import KeypadFlow, KeypadOptions, KeypadResult, run_keypad
from cti.agi.protocol import AgiEnv, AgiProtocolError, EnvLimits
from cti.config import AgiConfig

log = logging.getLogger(__name__)

#: the survey of a call: (script name from the AGI URL, the call's variables) → its flow,
#: or ``None`` when the script is unknown
FlowFactory = Callable[[str, AgiEnv], Awaitable[KeypadFlow | None]]
#: longest line the stream reader takes (a variable line, a reply)
LINE_LIMIT = 8192
#: refused addresses remembered (each logged once); past this the set starts again
MAX_REMEMBERED = 4096


async def no_flows(script: str, env: AgiEnv) -> KeypadFlow | None:
    """The factory while no survey service is plugged in: every script is unknown."""
    return None


class PeerGate:
    """Which peers may connect; a refused address is logged once (not once per attempt)."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self._networks = [ipaddress.ip_network(net, strict=False) for net in allowed]
        self._logged: set[str] = set()

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        candidates = (address, mapped) if mapped is not None else (address,)
        return any(
            a in net for a in candidates for net in self._networks if a.version == net.version
        )

    def refuse(self, host: str) -> None:
        if host in self._logged:
            return
        if len(self._logged) >= MAX_REMEMBERED:
            self._logged.clear()
        self._logged.add(host)
        log.warning("agi: connection from %s refused: not in [agi] allowed_peers", host)


class FastAgiServer:
    """``await server.start()`` … ``await server.stop()`` (or ``async with``)."""

    def __init__(
        self,
        config: AgiConfig,
        flows: FlowFactory = no_flows,
        *,
        on_result: Callable[[AgiEnv, KeypadResult], None] | None = None,
    ) -> None:
        self.config = config
        self.flows = flows
        #: told of each survey call that ended (after its socket closed)
        self.on_result = on_result
        self.gate = PeerGate(config.allowed_peers)
        self.options = KeypadOptions(
            tts_application=config.tts_application,
            prompt_timeout=config.prompt_timeout_seconds,
            margin=config.command_timeout_seconds,
            max_call_seconds=config.max_call_seconds,
        )
        self.limits = EnvLimits(config.max_env_bytes, config.max_env_lines)
        self.port = config.port
        #: how the calls went, by ``agi_uniqueid`` (the last ones; tests, ``cti`` status)
        self.results: dict[str, KeypadResult] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.flows is no_flows:
            log.warning("agi: no survey flows plugged in: every script is unknown to callers")
        self._server = await asyncio.start_server(
            self._accept, self.config.host, self.config.port, limit=LINE_LIMIT
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("agi: FastAGI listening on %s:%d", self.config.host, self.port)

    async def stop(self) -> None:
        """Stop listening, end the calls in progress (each finishes as partial)."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self.gate.allows(host):
            self.gate.refuse(host)
            writer.close()
            return
        if len(self._tasks) >= self.config.max_sessions:
            log.warning("agi: call from %s refused: %d calls already", host, len(self._tasks))
            writer.close()
            return
        task = asyncio.current_task()  # start_server runs each client in a task of its own
        if task is not None:
            self._tasks.add(task)
        channel = AgiChannel(reader, writer, command_timeout=self.config.command_timeout_seconds)
        ended: tuple[AgiEnv, KeypadResult] | None = None
        try:
            ended = await self._serve(channel, host)
        finally:  # stopping cancels the task: the runner has marked the survey partial
            if task is not None:
                self._tasks.discard(task)
            await channel.close()
        if ended is not None and self.on_result is not None:
            self.on_result(*ended)

    async def _serve(self, channel: AgiChannel, host: str) -> tuple[AgiEnv, KeypadResult] | None:
        """Serve one call: how its survey ended (``None``: no survey ran)."""
        try:
            env = await channel.read_env(self.limits, self.config.env_timeout_seconds)
        except (AgiProtocolError, AgiTimeout, AgiHangup) as exc:
            log.warning("agi: call from %s dropped: %s", host, exc)
            return None
        try:
            async with asyncio.timeout(self.config.command_timeout_seconds):
                flow = await self.flows(env.script, env)
        except Exception:  # the survey service failed or hung: the caller hears "no service"
            log.exception("agi: call %s: survey %r could not start", env.log_id, env.script)
            await self._unknown(channel)
            return None
        if flow is None:
            log.warning("agi: call %s asked for unknown script %r", env.log_id, env.script)
            await self._unknown(channel)
            return None
        log.info("agi: call %s: survey %r from %s", env.log_id, env.script, host)
        result = await run_keypad(channel, flow, self.options)
        self.results[env.uniqueid] = result
        if len(self.results) > MAX_REMEMBERED:
            self.results.pop(next(iter(self.results)))
        log.info(
            "agi: call %s: survey %r %s (%d answered)%s",
            env.log_id, env.script, result.status, len(result.answered),
            f": {result.reason}" if result.reason else "",
        )  # fmt: skip
        return env, result

    async def _unknown(self, channel: AgiChannel) -> None:
        """Tell the caller there is no such service, and hang up."""
        try:
            await channel.answer()
            await channel.stream_file(
                self.config.unknown_script_prompt, "", self.options.prompt_timeout
            )
            await channel.hangup()
        except (AgiHangup, AgiTimeout, AgiProtocolError) as exc:
            log.info("agi: unknown-script call ended: %s", exc)
