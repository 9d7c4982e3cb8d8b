"""The AMI event filter: what it lets through, the manager.conf block, and that a real
Asterisk filtered that way still gives the same call records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cti.ami.filters import AGENT_EVENTS, filter_actions, manager_conf, needed_events
from cti.ami.replay import replay_files
from cti.ami.tracker import CallTracker
from cti.cli import _register_all, app

LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"


def test_the_filter_keeps_every_event_the_tracker_and_the_dialer_use() -> None:
    events = set(needed_events())
    assert CallTracker().events - {"Cdr"} <= events
    assert events >= AGENT_EVENTS
    # the dialer's: every Originate outcome, queue members (Pause: QueueMemberPaused before
    # Asterisk 12) and device states, as the tracker's own domain events
    dialer = {"OriginateResponse", "DeviceStateChange", "QueueMemberPause", "QueueMemberPaused"}
    dialer |= {"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberStatus"}
    assert dialer <= CallTracker().events
    assert {"Newexten", "NewConnectedLine", "DialState", "DTMFBegin", "Cdr"}.isdisjoint(events)


def test_filter_actions_use_advanced_criteria_and_narrow_varset() -> None:
    actions = filter_actions()
    assert all(a["Action"] == "Filter" and a["Operation"] == "Add" for a in actions)
    criteria = [a["MatchCriteria"] for a in actions]
    assert all(re.fullmatch(r"action\(include\),name\(\w+\)(,.*)?", c) for c in criteria)
    varset = {
        a["MatchCriteria"]: a["Filter"] for a in actions if "name(VarSet)" in a["MatchCriteria"]
    }
    assert varset == {
        "action(include),name(VarSet),header(ChannelState),method(exact)": "0",
        "action(include),name(VarSet),header(Variable),method(regex)": (
            "^(MIXMONITOR_FILENAME|QUEUESTATUS|AMDSTATUS)$"
        ),
    }


def test_manager_conf_block_has_least_permissions_and_one_line_per_event() -> None:
    block = manager_conf("cti", ("10.0.0.5/255.255.255.255",), legacy=False)
    lines = block.splitlines()
    assert "[cti]" in lines and "deny = 0.0.0.0/0.0.0.0" in lines
    assert "permit = 10.0.0.5/255.255.255.255" in lines
    assert "read = system,call,agent,dialplan" in lines
    assert "write = call,originate,agent,reporting" in lines
    assert not any(line.startswith(("read = all", "write = all")) for line in lines)
    named = [line for line in lines if line.startswith("eventfilter(") and "VarSet" not in line]
    assert len(named) == len(needed_events()) - 1
    legacy = manager_conf("cti", ("127.0.0.1/255.255.255.255",), legacy=True)
    assert sum(line.startswith("eventfilter = ") for line in legacy.splitlines()) == 3


def test_cli_prints_the_block_and_refuses_a_bad_user_name() -> None:
    _register_all()
    runner = CliRunner()
    result = runner.invoke(app, ["ami", "manager-conf", "--user", "cti-least"])
    assert result.exit_code == 0, result.output
    assert "[cti-least]" in result.output and "eventfilter(action(include)" in result.output
    bad = runner.invoke(app, ["ami", "manager-conf", "--user", "x]\nread=all"])
    assert bad.exit_code == 2 and "--user" in bad.output


@pytest.mark.parametrize("name", sorted(p.stem for p in LAB.glob("*.ami")))
def test_a_filtered_asterisk_gives_the_same_record(name: str) -> None:
    """``filtered/`` was recorded as the least-privilege user with the manager.conf filters
    of ``cti ami manager-conf``: about half the bytes, the same call."""
    full, narrow = LAB / f"{name}.ami", LAB / "filtered" / f"{name}.ami"
    [before], [after] = replay_files([full]), replay_files([narrow])
    assert narrow.stat().st_size < 0.75 * full.stat().st_size
    for key in ("direction", "from_number", "to_number", "queue", "agents_rung", "agent"):
        assert getattr(after, key) == getattr(before, key), key
    assert (after.status, after.answered_by, after.transfers) == (
        before.status,
        before.answered_by,
        before.transfers,
    )
    assert [t.agent for t in after.talks] == [t.agent for t in before.talks]
    assert [(r.agent, r.answered) for r in after.rings] == [
        (r.agent, r.answered) for r in before.rings
    ]
    for key in ("ring_seconds", "talk_seconds", "ivr_seconds", "queue_wait_seconds"):
        a, b = getattr(before, key), getattr(after, key)
        assert (a is None) == (b is None), key
        if a is not None:
            assert b == pytest.approx(a, abs=0.3), key
