"""The simulator's end of a FastAGI socket is held to the recording of Asterisk 22
(``agi-survey.agi``): the same variable block byte for byte, and the recorded commands
(``agi-survey.agi-sent``) get the recorded replies; respondents are seeded."""

from __future__ import annotations

import asyncio

from cti.pbxsim.agi import AgiTarget, AsteriskAgi, ChannelInfo, env_block, parse_args
from cti.pbxsim.respondents import HangUp, Pause, Press, RespondentProfile, ScriptedRespondent
from tests.ami.tracehelp import ASTERISK22, needs_traces

LAB = ChannelInfo(
    channel="Local/h30@customer-phone-00000015;1",
    uniqueid="1795421531.42",
    callerid="+74951234567",
    calleridname="Ivan Petrov",
)


async def replay(commands: list[str], **kw: object) -> tuple[bytes, bytes]:
    """Run a FastAGI 'server' that sends ``commands``; what the simulated Asterisk wrote."""
    received = bytearray()
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        block = await reader.readuntil(b"\n\n")
        received.extend(block)
        for command in commands:
            writer.write(command.encode() + b"\n")
            line = await reader.readline()
            received.extend(line)
            while line == b"HANGUP\n":
                line = await reader.readline()
                received.extend(line)
            if line.startswith(b"520-"):
                while not line.startswith(b"520 "):
                    line = await reader.readline()
                    received.extend(line)
        writer.close()
        done.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = AgiTarget(port=port)
    caller = kw.pop("caller", ScriptedRespondent([Pause()]))
    await AsteriskAgi(target, LAB, caller, time_scale=0, **kw).run()  # type: ignore[arg-type]
    await done.wait()
    server.close()
    await server.wait_closed()
    block, _, replies = bytes(received).partition(b"\n\n")
    return block + b"\n\n", replies


@needs_traces
def test_the_variable_block_is_the_recorded_one() -> None:
    recorded, _, _ = (ASTERISK22 / "agi-survey.agi").read_bytes().partition(b"\n\n")
    assert env_block(AgiTarget(), LAB) == recorded + b"\n\n"


@needs_traces
async def test_the_recorded_commands_get_the_recorded_replies() -> None:
    commands = (ASTERISK22 / "agi-survey.agi-sent").read_text().splitlines()
    _, replies = (ASTERISK22 / "agi-survey.agi").read_bytes().partition(b"\n\n")[::2]
    _, got = await replay(commands, sounds=frozenset())  # the lab has no sound files
    assert got == replies


def test_arguments_are_read_as_res_agi_reads_them() -> None:
    assert parse_args('STREAM FILE hello-world "0123456789#*"') == [
        "STREAM", "FILE", "hello-world", "0123456789#*"
    ]  # fmt: skip
    assert parse_args('GET DATA "" 5000 2') == ["GET", "DATA", "", "5000", "2"]
    said = parse_args('EXEC Festival "say \\"hi\\" \\\\o/"')
    assert said == ["EXEC", "Festival", 'say "hi" \\o/']


async def test_a_hang_up_answers_minus_one_then_hangup_then_511() -> None:
    _, got = await replay(
        ["ANSWER", "WAIT FOR DIGIT 3000", 'STREAM FILE q "1"', "VERBOSE x 1", "NOOP"],
        caller=ScriptedRespondent([HangUp()]),
    )
    assert got.decode().splitlines() == [
        "200 result=0",
        "200 result=-1",
        "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
        "200 result=1",
        "200 result=0",
    ]


async def test_usage_errors_and_hangup_command() -> None:
    _, got = await replay(
        ["WAIT FOR DIGIT", "get data", "HANGUP", "ANSWER"], caller=ScriptedRespondent([])
    )
    assert got.decode().splitlines() == [
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: WAIT FOR DIGIT <timeout>",
        "520 End of proper usage.",
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: GET DATA <file to be streamed> [timeout] [max digits]",
        "520 End of proper usage.",
        "200 result=1",
        "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]


async def test_get_data_ends_on_hash_on_max_or_by_timeout() -> None:
    _, got = await replay(
        ['GET DATA "" 100 4'] * 4,
        caller=ScriptedRespondent([Press("12#9"), Press("98765"), Press("4"), Pause()]),
    )
    assert got.decode().splitlines() == [
        "200 result=12",
        "200 result=9876",
        "200 result=4 (timeout)",
        "200 result= (timeout)",
    ]


def test_a_respondent_profile_is_deterministic_per_call() -> None:
    profile = RespondentProfile(valid={"q": ("1", "2")}, seed=3, pause=1, wrong=1, hangup=1)

    def play(call_id: str) -> list[object]:
        respondent = profile.respondent(call_id)
        return [respondent.keys("q", 1) for _ in range(30)]

    assert play("a") == play("a") and play("a") != play("b")
    kinds = {type(a).__name__ for a in play("a")}
    assert kinds == {"Press", "Pause", "HangUp"}
    presses = [a for a in play("a") if isinstance(a, Press)]
    assert {p.keys for p in presses} - {"1", "2"}  # some wrong keys among them
