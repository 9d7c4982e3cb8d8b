"""The FastAGI server's guards: the peer allowlist, the bounded and timed variable block, a
silent PBX, the session limit, a clean stop mid-call, and Asterisk's 510/520 replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cti.agi.channel import AgiChannel, AgiCommandError, AgiHangup
from cti.agi.protocol import AgiEnv
from cti.agi.server import PeerGate
from cti.config import load_settings
from cti.errors import ConfigError
from cti.pbxsim.agi import AgiTarget, AsteriskAgi, ChannelInfo, env_block
from cti.pbxsim.respondents import ScriptedRespondent
from tests.agi.flows import YES_NO, Flows, RecordingFlow, serving

BLOCK = env_block(AgiTarget(), ChannelInfo("Local/h1@customer-phone-00000001;1", "1.1"))


async def closed(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (a reset when it left our bytes unread)."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:
        return True


def survey_flows() -> Flows:
    return Flows({"survey": lambda: RecordingFlow([YES_NO])})


@asynccontextmanager
async def peer(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def test_a_peer_not_allowed_is_dropped_unread_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flows = survey_flows()
    async with serving(flows, allowed_peers=("10.20.30.0/24",)) as server:
        for _ in range(3):
            async with peer(server.port) as (reader, writer):
                writer.write(BLOCK)
                assert await closed(reader)
    assert flows.asked == []
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "127.0.0.1" in refused[0].getMessage()


def test_the_gate_matches_addresses_networks_and_mapped_ipv4() -> None:
    gate = PeerGate(("127.0.0.1", "10.0.0.0/8", "2001:db8::/32"))
    assert gate.allows("127.0.0.1") and gate.allows("10.200.1.5")
    assert gate.allows("::ffff:10.1.2.3") and gate.allows("2001:db8::7")
    assert not gate.allows("127.0.0.2") and not gate.allows("192.168.1.1")
    assert not gate.allows("") and not gate.allows("not-an-address")


def test_allowed_peers_must_be_addresses(tmp_path: Path) -> None:
    toml = tmp_path / "cti.toml"
    toml.write_text('[agi]\nallowed_peers = ["pbx.example.org"]\n')
    with pytest.raises(ConfigError, match=r"agi\.allowed_peers.*not an address"):
        load_settings(toml, environ={})
    settings = load_settings(None, environ={"CTI_AGI_ENABLED": "true", "CTI_AGI_PORT": "4600"})
    assert settings.agi.enabled and settings.agi.port == 4600
    assert settings.agi.host == "127.0.0.1" and settings.agi.allowed_peers == ("127.0.0.1", "::1")


async def test_a_silent_peer_is_dropped_after_the_block_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flows = survey_flows()
    async with (
        serving(flows, env_timeout_seconds=0.05) as server,
        peer(server.port) as (reader, writer),
    ):
        writer.write(BLOCK[:40])  # half a line, then nothing
        assert await closed(reader)
    assert flows.asked == []
    assert any("no complete variable block" in r.getMessage() for r in caplog.records)


async def test_an_oversized_or_malformed_block_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flows = survey_flows()
    async with serving(flows, max_env_bytes=1024, max_env_lines=30) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(b"agi_network: yes\n" + b"agi_x: " + b"y" * 60 + b"\n" * 1)
            writer.write(b"".join(b"agi_v%d: %s\n" % (n, b"z" * 40) for n in range(40)))
            assert await closed(reader)
        async with peer(server.port) as (reader, writer):
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert await closed(reader)
        async with peer(server.port) as (reader, writer):
            writer.write(b"agi_x: " + b"y" * 9000 + b"\n\n")  # one line over the stream limit
            assert await closed(reader)
    assert flows.asked == []
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "over 1024 bytes" in messages and "not an 'agi_name: value' line" in messages


async def test_a_pbx_that_stops_answering_ends_the_survey_partial() -> None:
    flows = survey_flows()
    async with (
        serving(flows, command_timeout_seconds=0.05) as server,
        peer(server.port) as (reader, writer),
    ):
        writer.write(BLOCK)
        assert await reader.readline() == b"ANSWER\n"
        assert await closed(reader)  # no reply: the server gives up and closes
    assert flows.made[0].finished == ["partial"]


async def test_stopping_the_server_mid_call_finishes_the_survey_partial() -> None:
    flows = survey_flows()
    server_cm = serving(flows)
    server = await server_cm.__aenter__()
    async with peer(server.port) as (reader, writer):
        writer.write(BLOCK)
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        await reader.readline()  # the intro: left unanswered
        await server_cm.__aexit__(None, None, None)
        assert await closed(reader)
    assert flows.made[0].finished == ["partial"]
    assert server.active == 0


async def test_calls_over_the_session_limit_are_refused() -> None:
    flows = survey_flows()
    async with serving(flows, max_sessions=1) as server, peer(server.port) as (reader, writer):
        writer.write(BLOCK)
        assert await reader.readline() == b"ANSWER\n"
        async with peer(server.port) as (second, _):
            assert await closed(second)
        writer.write(b"200 result=-1\n")  # ANSWER failed: the first call ends
        assert await closed(reader)
    assert len(flows.made) == 1 and flows.made[0].finished == ["partial"]


async def test_unknown_command_and_usage_replies_are_errors_and_fully_read() -> None:
    """Asterisk's multi-line 520 is read to its end: the next reply is the next command's."""
    got: asyncio.Future[AgiChannel] = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.set_result(AgiChannel(reader, writer, command_timeout=2))
        await asyncio.sleep(5)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with peer(port) as (_reader, writer):
            channel = await got
            writer.write(
                b"510 Invalid or unknown command\n"
                b"520-Invalid command syntax.  Proper usage follows:\n"
                b" Usage: WAIT FOR DIGIT <timeout>\n\n"
                b"520 End of proper usage.\n"
                b"100 result=0 Trying...\n"
                b"200 result=0\n"
                b"HANGUP\n"
                b"511 Command Not Permitted on a dead channel or intercept routine\n"
            )
            with pytest.raises(AgiCommandError, match="510"):
                await channel.command("BOGUS")
            with pytest.raises(AgiCommandError, match="520"):
                await channel.command("WAIT FOR DIGIT")
            assert (await channel.command("ANSWER")).number == 0
            with pytest.raises(AgiHangup, match="511"):
                await channel.command('STREAM FILE x ""')
            assert channel.dead
            with pytest.raises(AgiHangup):
                await channel.command("ANSWER")  # not even sent
            assert channel.sent == ["BOGUS", "WAIT FOR DIGIT", "ANSWER", 'STREAM FILE x ""']
    finally:
        server.close()
        await server.wait_closed()


def test_caller_details_stay_out_of_the_refusal_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gate = PeerGate(("127.0.0.1",))
    gate.refuse("192.0.2.7")
    gate.refuse("192.0.2.7")
    assert [r.getMessage() for r in caplog.records] == [
        "agi: connection from 192.0.2.7 refused: not in [agi] allowed_peers"
    ]


async def test_a_failing_or_hanging_survey_service_is_no_service_to_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(script: str, env: AgiEnv) -> RecordingFlow | None:
        if script == "hangs":
            await asyncio.sleep(60)
        raise RuntimeError("store down")

    async with serving(broken, command_timeout_seconds=0.1) as server:
        for script in ("broken", "hangs"):
            target = AgiTarget(port=server.port, script=script)
            info = ChannelInfo("Local/h1@customer-phone-00000001;1", "1.1")
            session = await AsteriskAgi(target, info, ScriptedRespondent([]), time_scale=0).run()
            assert session.commands == ["ANSWER", 'STREAM FILE ss-noservice ""', "HANGUP"]
    failed = [r for r in caplog.records if "could not start" in r.getMessage()]
    assert len(failed) == 2


async def test_the_block_may_hold_exactly_max_lines() -> None:
    flows = survey_flows()
    lines = BLOCK.count(b"\n") - 1  # the variable lines, without the empty one
    async with serving(flows, max_env_lines=30) as server:
        assert lines == 24
        padded = BLOCK[:-1] + b"".join(b"agi_pad%d: x\n" % n for n in range(30 - lines)) + b"\n"
        async with peer(server.port) as (reader, writer):
            writer.write(padded)
            assert await reader.readline() == b"ANSWER\n"
        async with peer(server.port) as (reader, writer):
            writer.write(padded[:-1] + b"agi_one_more: x\n\n")
            assert await closed(reader)
    assert len(flows.asked) == 1
