"""AmiParser: incremental, tolerant splitting of AMI bytes into messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami.parser import MAX_PENDING, AmiParser, parse_bytes
from cti.ami.replay import Replayer
from tests.ami.tracehelp import TRACES, needs_traces, trace_files, trace_id

EVENT = b"Event: Hangup\r\nChannel: SIP/201-0001\r\nUniqueid: 1.1\r\nCause: 16\r\n\r\n"


def test_splits_messages_and_keeps_partial_data() -> None:
    parser = AmiParser()
    assert parser.feed(EVENT[:20]) == []
    assert parser.feed(EVENT[20:-1]) == []  # the very last LF still missing
    [msg] = parser.feed(EVENT[-1:])
    assert msg == {"Event": "Hangup", "Channel": "SIP/201-0001", "Uniqueid": "1.1", "Cause": "16"}
    assert parser.close() == []
    assert parser.errors == 0


def test_byte_by_byte_equals_whole_stream() -> None:
    data = b"Asterisk Call Manager/11.0.0\r\n" + EVENT * 3 + EVENT.replace(b"\r\n", b"\n")
    whole = parse_bytes(data)
    parser = AmiParser()
    pieces = [m for i in range(len(data)) for m in parser.feed(data[i : i + 1])]
    assert pieces + parser.close() == whole
    assert len(whole) == 4
    assert parser.version == "11.0.0"


def test_mixed_line_ends_parse_as_if_normalized() -> None:
    lf = EVENT.replace(b"\r\n", b"\n").replace(b"Cause: 16", b"Cause: 17")
    data = EVENT + lf + EVENT + b"Event: Newstate\r\nUniqueid: 1.1\n\r\n" + EVENT
    expected = [parse_bytes(EVENT)[0], {**parse_bytes(EVENT)[0], "Cause": "17"}]
    expected += [parse_bytes(EVENT)[0], {"Event": "Newstate", "Uniqueid": "1.1"}]
    expected += [parse_bytes(EVENT)[0]]
    assert parse_bytes(data) == expected
    for size in (1, 5, 64):
        parser = AmiParser()
        pieces = [m for i in range(0, len(data), size) for m in parser.feed(data[i : i + size])]
        assert pieces + parser.close() == expected
        assert parser.errors == 0


def test_greeting_line_before_first_response() -> None:
    parser = AmiParser()
    data = b"Asterisk Call Manager/6.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n"
    assert parser.feed(data) == [{"Response": "Success", "ActionID": "login"}]
    assert parser.version == "6.0.0"
    assert parser.errors == 0


def test_garbage_lines_are_counted_and_skipped() -> None:
    data = b"\x00\x01 junk without colon\r\nEvent: Newstate\r\nUniqueid: 2.2\r\n\r\n\r\n\r\n"
    parser = AmiParser()
    assert parser.feed(data) == [{"Event": "Newstate", "Uniqueid": "2.2"}]
    assert parser.errors == 1
    assert parser.first_error is not None and "junk without colon" in parser.first_error


def test_non_utf8_bytes_are_replaced_never_raise() -> None:
    data = b"Event: Newchannel\r\nCallerIDName: \xff\xfe Ivan \xd0\r\nUniqueid: 3.3\r\n\r\n"
    [msg] = parse_bytes(data)
    assert msg["Uniqueid"] == "3.3"
    assert "\ufffd" in msg["CallerIDName"]


def test_multibyte_char_split_across_feeds() -> None:
    data = "Event: NewCallerid\r\nCallerIDName: Иван\r\n\r\n".encode()
    cut = data.index("И".encode()) + 1  # in the middle of a two-byte character
    parser = AmiParser()
    assert parser.feed(data[:cut]) == []
    assert parser.feed(data[cut:]) == [{"Event": "NewCallerid", "CallerIDName": "Иван"}]


def test_duplicate_keys_keep_first_and_variables_are_all_kept() -> None:
    data = (
        b"Action: Originate\r\nChannel: Local/1@a\r\nChannel: Local/2@b\r\n"
        b"Variable: CAMPAIGN=spring\r\nVariable: LEAD_ID=7741\r\n"
        b"ChanVariable: FROM_DID=\r\nChanVariable: SIPURI=sip:42@10.0.0.1\r\n\r\n"
    )
    [msg] = parse_bytes(data)
    assert msg["Channel"] == "Local/1@a"
    assert msg["Variable"] == "CAMPAIGN=spring"
    assert msg["Variable(CAMPAIGN)"] == "spring"
    assert msg["Variable(LEAD_ID)"] == "7741"
    assert msg["ChanVariable(FROM_DID)"] == ""
    assert msg["ChanVariable(SIPURI)"] == "sip:42@10.0.0.1"


def test_response_follows_body_and_output_lines() -> None:
    old = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n"
        b"Channel              Location\r\n0 active channels\r\n--END COMMAND--\r\n\r\n"
    )
    new = b"Response: Success\r\nActionID: c2\r\nOutput: line one\r\nOutput: line two\r\n\r\n"
    parser = AmiParser()
    first, second = parser.feed(old + new)
    assert first["ActionID"] == "c1"
    assert first["Output"].splitlines() == [
        "Channel              Location",
        "0 active channels",
        "--END COMMAND--",
    ]
    assert second["Output"] == "line one\nline two"
    assert parser.errors == 0


def test_key_without_space_and_empty_values() -> None:
    [msg] = parse_bytes(b"Event: Cdr\r\nAccountCode:\r\nUserField: \r\nUniqueID: 9.9\r\n\r\n")
    assert msg == {"Event": "Cdr", "AccountCode": "", "UserField": "", "UniqueID": "9.9"}


def test_close_returns_a_message_missing_only_its_blank_line() -> None:
    parser = AmiParser()
    assert parser.feed(EVENT + EVENT[:-2]) != []
    [last] = parser.close()
    assert last["Cause"] == "16"
    assert not parser.truncated


def test_close_reports_a_truncated_message() -> None:
    parser = AmiParser()
    parser.feed(EVENT + b"Event: Hangup\r\nUniqueid: 4.4\r\nCau")
    [partial] = parser.close()
    assert partial == {"Event": "Hangup", "Uniqueid": "4.4"}
    assert parser.truncated
    assert parser.errors == 1


def test_endless_message_is_dropped_not_buffered_forever() -> None:
    parser = AmiParser()
    line = b"Key: " + b"x" * 1000 + b"\r\n"
    for _ in range(MAX_PENDING // len(line) + 5):  # its rest after the drop: dropped too
        assert parser.feed(line) == []
    assert parser.errors == 1
    assert parser.feed(b"\r\n" + EVENT) == [parse_bytes(EVENT)[0]]
    assert parser.feed(EVENT) == [parse_bytes(EVENT)[0]]


@needs_traces
@pytest.mark.parametrize("path", trace_files(TRACES, "**/*.ami"), ids=trace_id)
def test_every_recorded_trace_parses_cleanly(path: Path) -> None:
    data = path.read_bytes()
    parser = AmiParser()
    messages = parser.feed(data) + parser.close()
    blocks = [b for b in data.replace(b"\r\n", b"\n").split(b"\n\n") if b.strip()]
    assert len(messages) == len(blocks)
    assert all(("Event" in m) or ("Response" in m) for m in messages)
    assert parser.errors == 0


def test_event_filter_drops_only_unwanted_events() -> None:
    wanted = frozenset({"Hangup", "FullyBooted"})
    data = (
        b"Asterisk Call Manager/6.0.0\r\n"
        b"Response: Success\r\nActionID: 1\r\n\r\n"
        b"Event: Newexten\r\nChannel: SIP/201-0001\r\nApplication: Dial\r\n\r\n"
        + EVENT
        + b"Event: CoreShowChannel\r\nActionID: 2\r\nChannel: SIP/201-0001\r\n\r\n"
        b"Event: FullyBooted\r\n\r\n"  # one line: its name is the whole block
        b"Event: Newexten\r\nActionID: 3\r\n\r\n"  # an answer to our action: kept
        b"Event: Newstate\r\n\r\n"
    )
    parser = AmiParser(wanted)
    kept = parser.feed(data) + parser.close()
    assert [m.get("Event", m.get("Response")) for m in kept] == [
        "Success",
        "Hangup",
        "CoreShowChannel",
        "FullyBooted",
        "Newexten",
    ]
    assert parser.skipped == 2 and parser.errors == 0 and parser.version == "6.0.0"
    assert kept == [m for m in parse_bytes(data) if m in kept]  # the same messages, whole


def test_prefilter_drops_events_on_their_raw_text() -> None:
    def down(block: str) -> bool:  # the block as sent: CRLF line ends
        return "\nChannelState: 0\r\n" in block

    data = (
        b"Event: VarSet\r\nChannelState: 6\r\nVariable: BRIDGEPEER\r\nValue: x\r\n\r\n"
        b"Event: VarSet\r\nChannelState: 0\r\nVariable: LEAD_ID\r\nValue: 7\r\n\r\n"
        b"Event: VarSet\r\nActionID: 9\r\nChannelState: 6\r\nVariable: X\r\n\r\n"
        b"Event: Hangup\r\nChannelState: 6\r\n\r\n"
    )
    parser = AmiParser(frozenset({"VarSet", "Hangup"}), {"VarSet": down})
    kept = parser.feed(data)
    assert [(m["Event"], m.get("Variable")) for m in kept] == [
        ("VarSet", "LEAD_ID"),
        ("VarSet", "X"),  # an answer to our own action: always kept
        ("Hangup", None),
    ]
    assert parser.skipped == 1


@needs_traces
@pytest.mark.parametrize("path", trace_files(TRACES, "**/*.ami"), ids=trace_id)
def test_event_filter_changes_no_call_record(path: Path) -> None:
    """The tracker's event set loses nothing it needs: every trace gives the same records
    through the filtered parser (the live and replay path) as through the unfiltered one."""
    data = path.read_bytes()
    filtered = Replayer()
    whole = Replayer()
    whole.parser = AmiParser()
    got = filtered.feed(data) + filtered.end_of_file() + filtered.finish()
    assert got == whole.feed(data) + whole.end_of_file() + whole.finish()
