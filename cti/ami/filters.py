"""Which AMI events cti needs, as Asterisk event filters and a least-privilege AMI user.

A live Asterisk sends ~110 events per call and most of them (``Newexten``, ``VarSet`` of
every ``Set()``, ``NewConnectedLine``, ``DialState``, DTMF …) change nothing cti follows.
The PBX can drop them itself, before they cross the network and cti parses them:

* ``manager.conf``: :func:`manager_conf` prints the ``[user]`` block with the least
  permissions cti's actions need and one ``eventfilter`` line per event it uses
  (``cti ami manager-conf``);
* at login, when the AMI user may send the ``Filter`` action (``write = system``), the
  connection adds the same filters to its session (:func:`filter_actions`).

Both use Asterisk's advanced filter syntax (``eventfilter(name(X)) =``, Asterisk 20.8 /
21.3 and later): a hash match on the event name, no regular expression per event. Older
Asterisk reads them as legacy regexes that match every event, so nothing is lost there,
only nothing is saved; :func:`manager_conf` can print legacy lines instead.

``Cdr`` events are not asked for: the live connection stamps each event on receipt, so
they add nothing (they give times only to replays of traces recorded without any).
"""

from __future__ import annotations

from cti.ami.tracker import CallTracker

#: events the dialer and the agent reports use: queue members (login, pause, state) and
#: the agents' device states (the tracker turns these into domain events too), and what a
#: queue did with a call
AGENT_EVENTS = frozenset(
    {
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberStatus",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentComplete",
        "AgentDump",
        "DeviceStateChange",
    }
)
#: tracker events the live connection does not need (see the module docs)
NOT_LIVE = frozenset({"Cdr"})
#: ``VarSet`` is wanted only for these variables, and for any variable set on a channel
#: that is still down (the variables of an ``Originate``: campaign, lead …)
VARIABLES = ("MIXMONITOR_FILENAME", "QUEUESTATUS", "AMDSTATUS")
#: read: events of these classes; write: the actions cti sends (Originate: originate;
#: Hangup/Redirect/BlindTransfer/Setvar: call; Queue*: agent; CoreShowChannels: reporting)
READ = "system,call,agent,dialplan"
WRITE = "call,originate,agent,reporting"


def needed_events() -> list[str]:
    """Every event name cti uses live, sorted (``VarSet`` is narrowed separately)."""
    return sorted((CallTracker().events - NOT_LIVE) | AGENT_EVENTS)


def _advanced() -> list[tuple[str, str]]:
    """(match criteria, expression) pairs, advanced syntax."""
    out = [(f"action(include),name({name})", "") for name in needed_events() if name != "VarSet"]
    out.append(("action(include),name(VarSet),header(ChannelState),method(exact)", "0"))
    out.append(
        (
            "action(include),name(VarSet),header(Variable),method(regex)",
            "^(" + "|".join(VARIABLES) + ")$",
        )
    )
    return out


def _legacy() -> list[str]:
    """Legacy regexes over the whole event text: a superset (``Event: Hangup`` also lets
    ``HangupRequest`` through), which is safe: cti ignores what it does not use."""
    names = [n for n in needed_events() if n != "VarSet"]
    return [
        "Event: (" + "|".join(names) + ")",
        "Event: VarSet.*ChannelState: 0",
        "Event: VarSet.*Variable: (" + "|".join(VARIABLES) + ")",
    ]


def filter_actions() -> list[dict[str, str]]:
    """The ``Filter`` actions that narrow an AMI session to what cti uses."""
    return [
        {"Action": "Filter", "Operation": "Add", "MatchCriteria": criteria, "Filter": expression}
        for criteria, expression in _advanced()
    ]


def manager_conf(
    user: str = "cti", permit: tuple[str, ...] = ("127.0.0.1/255.255.255.255",), *, legacy: bool
) -> str:
    """The ``manager.conf`` block of cti's AMI user (secret left for the admin to set)."""
    lines = [
        f"; AMI user for cti: least permissions, and only the {len(needed_events())} events",
        "; it uses (add this block to /etc/asterisk/manager.conf, then 'manager reload').",
        f"[{user}]",
        "secret = CHANGE-ME-to-a-long-random-secret",
        "deny = 0.0.0.0/0.0.0.0",
    ]
    lines += [f"permit = {net}" for net in permit]
    lines += [f"read = {READ}", f"write = {WRITE}", "writetimeout = 5000"]
    if legacy:
        lines.append("; legacy filters (Asterisk before 20.8 / 21.3): regexes")
        lines += [f"eventfilter = {expression}" for expression in _legacy()]
    else:
        lines += [f"eventfilter({criteria}) = {expr}".rstrip() for criteria, expr in _advanced()]
    return "\n".join(lines) + "\n"
