"""Replaying cacofonisk's traces agrees with cacofonisk itself (``*.peer.jsonl``).

Compared per call: who called (``from``), whether it was answered, who answered (when the
peer names an internal extension) and the transfers (kind, by, to). Every deliberate
difference is listed in ``KNOWN_DIFFERENCES`` with its reason; the test also fails when a
listed difference no longer occurs, so the list stays true.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cti.ami.events import CallRecord
from cti.ami.replay import replay_files
from tests.ami.tracehelp import CACOFONISK, needs_traces, trace_files, trace_id

pytestmark = needs_traces

FIRST_AGENT = "our `agent` is the first extension that answered (the call log's definition); "
FIRST_AGENT += "cacofonisk reports the last one (the blind-transfer target)"
KEEP_BLIND = "Asterisk reported this BlindTransfer with Result: Success; cacofonisk drops a "
KEEP_BLIND += "blind transfer whose target did not answer, we log what the PBX did"
ALL_CALLS = "cacofonisk reports no call for an originate whose first leg never accepted; "
ALL_CALLS += "we log every call the PBX made"
IVR = "the caller's channel was answered by the dialplan (no party dialed): we count a call "
IVR += "answered by an application as answered (like an IVR), cacofonisk does not"

CONSULT = "the consultation call of a blonde transfer (the transferer's second call, its "
CONSULT += "target still ringing) carries the transfer too, so its record reads as handed over, "
CONSULT += "not as a plain miss; cacofonisk lists no transfer on it"

#: (trace, linkedid or "*extra*", aspect) → why we differ on purpose
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("simple/a_created_no_answer", "e25ad522d444-1553503669.94", "answered"): IVR,
    ("xfer_blind/xfer_blind_abacbc", "07b796be1962-1529998985.130", "agent"): FIRST_AGENT,
    ("xfer_blind/xfer_blind_abbcac", "07b796be1962-1529998959.65", "agent"): FIRST_AGENT,
    ("xfer_blonde/xfer_blonde_abacbc", "f29ea68048f6-1530023922.2627", "agent"): FIRST_AGENT,
    ("xfer_blind/xfer_blind_a_no_answer", "07b796be1962-1530000279.351", "transfers"): KEEP_BLIND,
    ("xfer_blind/xfer_blind_b_no_answer", "07b796be1962-1530000295.403", "transfers"): KEEP_BLIND,
    (
        "xfer_blind/xfer_blind_group_no_answer",
        "f29ea68048f6-1530015089.506",
        "transfers",
    ): KEEP_BLIND,
    ("originate/cmn-world-world-unaccepted", "c4061ca6474c-1531991990.1529", "extra"): ALL_CALLS,
    ("originate/ctd-account-world-deny-a", "c4061ca6474c-1531990682.554", "extra"): ALL_CALLS,
    ("xfer_blonde/xfer_blonde_abacbc", "f29ea68048f6-1530023931.2654", "transfers"): CONSULT,
    ("xfer_blonde/xfer_blonde_abbcac", "f29ea68048f6-1530024939.2753", "transfers"): CONSULT,
    ("xfer_blonde/xfer_blonde_group_a", "f29ea68048f6-1530026216.3156", "transfers"): CONSULT,
    ("xfer_blonde/xfer_blonde_group_b", "f29ea68048f6-1530026028.3037", "transfers"): CONSULT,
    ("xfer_blonde/xfer_blonde_reject", "f29ea68048f6-1530025493.2945", "transfers"): CONSULT,
}
#: a "blonde" transfer (completed while the target still rang) is its own kind for both
KIND = {"blonde": "blonde", "blind": "blind", "attended": "attended"}


def _internal(number: str | None) -> bool:
    return number is not None and number.isdigit() and len(number) <= 6


def _peer_transfers(peer: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    out = []
    for kind, by, to in peer["transfers"]:
        target = to if isinstance(to, str) or to is None else (to[-1] if to else None)
        out.append((KIND[kind], by, target))
    return out


def _differences(name: str, peer: dict[str, Any], ours: CallRecord) -> dict[str, str]:
    diffs: dict[str, str] = {}
    if peer["from"] != ours.from_number:
        diffs["from"] = f"peer {peer['from']} ours {ours.from_number}"
    answered_by = peer["answered_by"]
    if (answered_by is not None) != (ours.status == "answered"):
        diffs["answered"] = f"peer {answered_by}/{peer['end']} ours {ours.status}"
    if _internal(answered_by) and answered_by != ours.agent:
        diffs["agent"] = f"peer {answered_by} ours {ours.agent}"
    theirs = _peer_transfers(peer)
    mine = [(t.kind, t.by, t.to) for t in ours.transfers]
    if theirs != mine:
        diffs["transfers"] = f"peer {theirs} ours {mine}"
    return diffs


@pytest.mark.parametrize("path", trace_files(CACOFONISK, "*/*.ami"), ids=trace_id)
def test_agrees_with_cacofonisk(path: Path) -> None:
    name = trace_id(path)
    peers = [
        json.loads(line)
        for line in path.with_suffix(".peer.jsonl").read_text().splitlines()
        if line.strip()
    ]
    ours = {r.linkedid: r for r in replay_files([path])}
    found: dict[tuple[str, str, str], str] = {}
    for peer in peers:
        assert peer["linkedid"] in ours, f"{name}: no record for {peer['linkedid']}"
        for aspect, text in _differences(name, peer, ours[peer["linkedid"]]).items():
            found[(name, peer["linkedid"], aspect)] = text
    for linkedid in ours.keys() - {p["linkedid"] for p in peers}:
        found[(name, linkedid, "extra")] = f"record {ours[linkedid].status}"
    expected = {k for k in KNOWN_DIFFERENCES if k[0] == name}
    unexplained = {k: v for k, v in found.items() if k not in expected}
    assert not unexplained, f"differences from cacofonisk without a reason: {unexplained}"
    assert set(found) == expected, (
        f"listed differences that no longer occur: {expected - set(found)}"
    )
    assert not any(r.partial for r in ours.values()), "every call in these traces ends"
