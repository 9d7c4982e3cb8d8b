"""The FastAGI wire format against what Asterisk 22 really sent (``agi-survey.agi``): the
variable block through the real server socket, the reply lines, and command quoting."""

from __future__ import annotations

import asyncio

import pytest

from cti.agi import protocol as p
from cti.agi.protocol import AgiProtocolError
from tests.agi.flows import YES_NO, Flows, RecordingFlow, serving
from tests.ami.tracehelp import ASTERISK22, needs_traces

RECORDED = ASTERISK22 / "agi-survey.agi"


def recorded() -> tuple[bytes, list[str]]:
    """The variable block (with its empty line) and the reply lines, as recorded."""
    data = RECORDED.read_bytes()
    block, _, replies = data.partition(b"\n\n")
    return block + b"\n\n", replies.decode().splitlines()


@needs_traces
async def test_the_recorded_block_and_replies_drive_a_survey_through_the_socket() -> None:
    """Asterisk's bytes on a real connection: the server parses the call as recorded and
    sends the survey's commands; the replies are the recorded lines of the same kinds."""
    block, replies = recorded()
    answer_ok, _, _, missing_file, _, no_key, *_ = replies
    flows = Flows({"survey": lambda: RecordingFlow([YES_NO])})
    async with serving(flows) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(block)
        sent: list[str] = []

        async def reply(line: str) -> None:
            sent.append((await reader.readline()).decode().rstrip("\n"))
            writer.write(line.encode() + b"\n")

        await reply(answer_ok)  # ANSWER → 200 result=0
        await reply(missing_file)  # the intro: 200 result=-1 endpos=0 (no sound files)
        for _ in range(3):  # the question, then silence: asked 1 + 2 retries
            await reply(missing_file)
            await reply(no_key)  # WAIT FOR DIGIT → 200 result=0
        await reply(missing_file)  # goodbye
        await reply("200 result=1")  # HANGUP
        writer.write(b"HANGUP\n")
        assert await reader.read() == b""  # the server closed the socket
        writer.close()
    ((script, env),) = flows.asked
    assert script == "survey"
    assert env.script == "survey" and env.args == ("campaign42", "ru")
    assert env.campaign == "campaign42" and env.language == "ru"
    assert env.uniqueid == "1795421531.42"
    assert env.channel == "Local/h30@customer-phone-00000015;1"
    assert (env.callerid, env.calleridname) == ("+74951234567", "Ivan Petrov")
    assert env.get("accountcode") == "" and env.get("request") == "agi://127.0.0.1:4573/survey"
    assert len(env.variables) == 24
    question = 'STREAM FILE q-recommend "0123456789*#"'
    assert sent == [
        "ANSWER",
        'STREAM FILE survey-intro ""',
        *[question, "WAIT FOR DIGIT 5000"] * 3,
        'STREAM FILE vm-goodbye ""',
        "HANGUP",
    ]
    (flow,) = flows.made
    assert flow.answers == {} and flow.finished == ["partial"]


@needs_traces
def test_every_recorded_reply_line_parses() -> None:
    _, replies = recorded()
    parsed = [p.parse_reply(line)[0] for line in replies]
    assert [r.code for r in parsed] == [200] * 9 + [510]
    assert parsed[1].number == 1 and parsed[1].data == '"Ivan Petrov" <+74951234567>'
    assert parsed[2].data == "Local/h30@customer-phone-00000015;1"
    assert parsed[3].number == -1 and parsed[3].extras == {"endpos": "0"}
    assert parsed[9].text == "Invalid or unknown command"


@pytest.mark.parametrize(
    ("line", "result", "data", "extras"),
    [
        ("200 result= (timeout)", "", "timeout", {}),
        ("200 result=12 (timeout)", "12", "timeout", {}),
        ("200 result=105", "105", None, {}),
        ("200 result=49 endpos=4000", "49", None, {"endpos": "4000"}),
        ("200 result=0 (timeout) endpos=8000", "0", "timeout", {"endpos": "8000"}),
        ("200 result=-1 (hangup) endpos=0", "-1", "hangup", {"endpos": "0"}),
    ],
)
def test_reply_shapes_of_res_agi(
    line: str, result: str, data: str | None, extras: dict[str, str]
) -> None:
    reply, more = p.parse_reply(line)
    assert (reply.result, reply.data, dict(reply.extras), more) == (result, data, extras, False)


def test_dead_channel_usage_and_garbage_replies() -> None:
    dead, more = p.parse_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert dead.code == 511 and not more
    usage, more = p.parse_reply("520-Invalid command syntax.  Proper usage follows:")
    assert usage.code == 520 and more
    for bad in ("hello", "200 nothing", "404 Not Found", ""):
        with pytest.raises(AgiProtocolError):
            p.parse_reply(bad)


def test_digits_come_back_as_ascii_codes() -> None:
    assert [p.digit_of(n) for n in (0, 48, 57, 42, 35)] == [None, "0", "9", "*", "#"]
    with pytest.raises(AgiProtocolError):
        p.digit_of(120)


def test_variable_block_lines_are_checked_without_echoing_values() -> None:
    assert p.parse_env_line("agi_accountcode: ", 1) == ("agi_accountcode", "")
    assert p.parse_env_line("agi_calleridname: A: B\r", 1) == ("agi_calleridname", "A: B")
    assert p.parse_env_line("", 3) is None
    with pytest.raises(AgiProtocolError, match="line 7") as info:
        p.parse_env_line("Secret-Thing: +74951234567", 7)
    assert "+7495" not in str(info.value)
    with pytest.raises(AgiProtocolError, match="twice"):
        p.build_env([("agi_network", "yes"), ("agi_request", "x"), ("agi_network", "yes")])
    with pytest.raises(AgiProtocolError, match="not a FastAGI request"):
        p.build_env([("agi_request", "/usr/bin/script")])


def test_script_path_query_and_arguments() -> None:
    env = p.build_env(
        [
            ("agi_network", "yes"),
            ("agi_network_script", "nps?lang=en&x"),
            ("agi_request", "agi://pbx/nps?lang=en&x"),
            ("agi_arg_1", "spring"),
            ("agi_arg_3", "skipped: not after arg 1"),
        ]
    )
    assert env.script == "nps" and dict(env.query) == {"lang": "en", "x": ""}
    assert env.args == ("spring",) and env.language == ""
    with pytest.raises(AgiProtocolError, match="script name"):
        p.build_env([("agi_network", "yes"), ("agi_request", "x"), ("agi_network_script", "a b")])


def test_commands_quote_and_refuse_what_could_break_a_line() -> None:
    assert p.stream_file("custom/q1", "12#") == 'STREAM FILE custom/q1 "12#"'
    assert p.get_data(5000, 2) == 'GET DATA "" 5000 2'
    assert p.exec_app("Festival", 'say "hi" \\o/') == 'EXEC Festival "say \\"hi\\" \\\\o/"'
    with pytest.raises(ValueError):
        p.stream_file("q1 HANGUP", "1")
    with pytest.raises(ValueError):
        p.stream_file("../../etc/passwd", "1")
    with pytest.raises(ValueError):
        p.stream_file("q1", "1a")
    with pytest.raises(ValueError):
        p.exec_app("Festival", "line\nHANGUP")
