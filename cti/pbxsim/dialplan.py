"""The lab dialplan the simulator answers for: which extensions exist in which context.

It models ``../shared/ami-traces/asterisk22/config/extensions.conf`` plus cti's additions in
``tests/traces/asterisk22/config/extensions_cti.conf``. Asterisk refuses an ``Originate``
into an extension that does not exist at once, and tears a ``Local/<exten>@<context>``
channel down as soon as it is dialled when its extension is missing, so the simulator must
know the same. The phones (``agents``, ``cti-agents``), the queues' numbers and the remote
numbers (``pstn``) come from the simulator's configuration; the rest is the lab's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from cti.pbxsim.calls import AgentProfile, Outcome

CUSTOMER = "customer-phone"
FROM_TRUNK = "from-trunk"
AGENTS = "agents"
PSTN = "pstn"
OUTBOUND = "outbound"
CTI_INBOUND = "cti-inbound"
CTI_AGENTS = "cti-agents"
CTI_TRANSFER = "cti-transfer"
CTI_OUTBOUND = "cti-outbound"
#: cti-inbound's numbers: IVR menu then the support queue, the sales queue, the PBX message
IVR_QUEUE, SALES_QUEUE, MESSAGE = "510", "520", "700"

#: the lab's fixed contexts (the others depend on the simulator's phones and numbers)
STATIC: dict[str, tuple[str, ...]] = {
    CUSTOMER: ("_hX!",),
    "transfer-target": ("_1XX",),
    "dialer-connected": ("s",),
    "cti-campaign": ("s",),
    OUTBOUND: ("_7X.",),
    CTI_INBOUND: ("_1XX", IVR_QUEUE, SALES_QUEUE, MESSAGE),
    CTI_TRANSFER: ("_1XX",),
    CTI_OUTBOUND: ("_7X.", "_X."),
}
#: the phones of extensions_cti.conf's ``cti-agents`` (transferer 104, targets 105 and 106)
LAB_CTI_AGENTS = {
    "104": AgentProfile(ring_seconds=1, talk_seconds=30),
    "105": AgentProfile(ring_seconds=1, talk_seconds=3),
    "106": AgentProfile(ring_seconds=6, talk_seconds=3),
}
_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    out, i, body = [], 0, pattern[1:]
    while i < len(body):
        char = body[i]
        if char == "[":
            end = body.index("]", i)
            out.append(f"[{body[i + 1 : end]}]")
            i = end + 1
            continue
        out.append(_CLASSES.get(char.upper(), re.escape(char)))
        i += 1
    return re.compile("".join(out))


def matches(pattern: str, exten: str) -> bool:
    """Whether ``exten`` matches an Asterisk extension (``101``) or pattern (``_7X.``)."""
    return _compile(pattern).fullmatch(exten) is not None


@dataclass(slots=True)
class Dialplan:
    """The lab dialplan with the simulator's phones, queue numbers and remote numbers."""

    agents: Mapping[str, AgentProfile]
    cti_agents: Mapping[str, AgentProfile] = field(default_factory=lambda: dict(LAB_CTI_AGENTS))
    pstn: Mapping[str, Outcome] = field(default_factory=dict)
    queue_numbers: Mapping[str, str] = field(default_factory=dict)
    ivr_number: str = "600"

    def exists(self, context: str, exten: str) -> bool:
        """Whether ``exten@context`` is in the dialplan (what ``Originate`` checks)."""
        if context == AGENTS:
            return exten in self.agents
        if context == CTI_AGENTS:
            return exten in self.cti_agents or exten in self.agents
        if context == PSTN:
            return bool(exten) and self.pstn.get(exten) != "invalid"
        if context == FROM_TRUNK:
            return (
                matches("_1XX", exten)
                or exten in self.agents
                or exten in self.queue_numbers
                or exten == self.ivr_number
            )
        return any(matches(p, exten) for p in STATIC.get(context, ()))

    def device_exists(self, device: str) -> bool:
        """``Local/<exten>@<context>`` names an existing extension (else its state is
        ``INVALID``); other devices are taken as existing."""
        if not device.startswith("Local/"):
            return True
        exten, _, context = device[6:].partition("@")
        return self.exists(context, exten)

    def phone(self, context: str, exten: str) -> AgentProfile:
        """How the phone behind ``exten@context`` rings and talks."""
        if context == CTI_AGENTS and exten in self.cti_agents:
            return self.cti_agents[exten]
        return self.agents.get(exten, AgentProfile())

    def remote(self, number: str) -> Outcome:
        """What a remote number does when dialled (``answer`` unless configured)."""
        return self.pstn.get(number, "answer")
