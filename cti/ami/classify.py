"""Who is who on a call: agent extensions vs external parties, and the call's direction.

Works with no configuration (numbers of up to ``internal_max_digits`` digits are internal
extensions, longer ones or ``+``-prefixed ones are external); a :class:`PbxConfig` refines
it with inbound contexts and trunk / agent channel-name patterns.
"""

from __future__ import annotations

import re
from typing import Final

from cti.ami.events import Direction
from cti.config import PbxConfig
from cti.errors import ConfigError

_HEX: Final = frozenset("0123456789abcdefABCDEF")
_UNKNOWN: Final = frozenset({"", "<unknown>", "<Unknown>", "unknown", "anonymous", "Anonymous"})


def local_exten(channel: str) -> str | None:
    """``Local/101@agents-00000001;1`` → ``101``; ``None`` for other technologies."""
    if not channel.startswith("Local/"):
        return None
    at = channel.find("@", 6)
    return channel[6:at] if at > 6 else None


def base_channel(channel: str) -> str:
    """Channel name without Asterisk's ``-<hex sequence>[;n]`` suffix.

    ``Local/h30@customer-phone-0000000c;1`` → ``Local/h30@customer-phone`` (the name an
    unanswered ``OriginateResponse`` reports); a name without such a suffix is returned as is.
    """
    dash = channel.rfind("-")
    if dash <= 0:
        return channel
    suffix = channel[dash + 1 :].partition(";")[0]
    if suffix and all(c in _HEX for c in suffix):
        return channel[:dash]
    return channel


def clean_number(value: str | None) -> str | None:
    """A caller-ID number, or ``None`` for Asterisk's placeholders (``<unknown>`` …)."""
    if value is None or value in _UNKNOWN:
        return None
    return value


class Classifier:
    """Decides whether a party is an internal extension (agent) and a call's direction."""

    __slots__ = ("_agent_re", "_inbound_contexts", "_trunk_re", "max_digits")

    def __init__(self, config: PbxConfig | None = None, pbx: str = "default") -> None:
        cfg = config or PbxConfig()
        self.max_digits = cfg.internal_max_digits
        self._inbound_contexts = frozenset(cfg.inbound_contexts)
        self._trunk_re = _compile(cfg.trunk_patterns, f"pbx.{pbx}.trunk_patterns")
        self._agent_re = _compile(cfg.agent_patterns, f"pbx.{pbx}.agent_patterns")

    def is_internal_number(self, number: str | None) -> bool:
        """Up to ``max_digits`` plain digits (``101``); ``+7495…`` or long numbers are not."""
        return number is not None and number.isdigit() and len(number) <= self.max_digits

    def is_external_number(self, number: str | None) -> bool:
        if not number:
            return False
        digits = number[1:] if number.startswith("+") else number
        return digits.isdigit() and not self.is_internal_number(number)

    def is_trunk(self, channel: str) -> bool:
        return self._trunk_re is not None and self._trunk_re.search(channel) is not None

    def is_agent_channel(self, channel: str) -> bool:
        return self._agent_re is not None and self._agent_re.search(channel) is not None

    def is_inbound_context(self, context: str | None) -> bool:
        return context is not None and context in self._inbound_contexts

    def party(self, channel: str, cid_num: str | None) -> tuple[str | None, bool]:
        """Identity of the party on a *dialed* channel and whether it is an agent.

        ``Local/<number>@ctx`` names its number; other channels are known by their caller-ID
        number (a SIP phone ``SIP/1500-0004`` shows ``CallerIDNum: 202``), else the peer name.
        """
        if self.is_trunk(channel):
            return clean_number(cid_num), False
        ident = local_exten(channel)
        if ident is None or not (ident.isdigit() or ident.startswith("+")):
            ident = clean_number(cid_num)
            if ident is None or not ident.lstrip("+").isdigit():
                ident = _peer_name(channel) if ident is None else ident
        if self.is_agent_channel(channel):
            return ident, True
        return ident, self.is_internal_number(ident)

    def device_agent(self, device: str) -> str | None:
        """The agent extension a device or queue member interface names, if it is an
        agent's: ``PJSIP/101``, ``Local/101@agents`` (``/n`` too) → ``101``; by
        ``agent_patterns``, else by a short number. A device name has no ``-<seq>`` suffix
        to strip (``PJSIP/op-7`` is ``op-7``). States of the PBX's own (``Queue:sales_avail``,
        ``Queue:campaign_pause_Local/108@agents``: a member's pause, ``Custom:x``) name none."""
        ident = local_exten(device)
        if ident is None:
            slash = device.find("/")
            if slash < 0 or ":" in device[:slash]:
                return None
            ident = device[slash + 1 :].partition("@")[0]
        if not ident:
            return None
        if self.is_agent_channel(device) or self.is_internal_number(ident):
            return ident
        return None

    def direction(
        self,
        *,
        caller_channel: str,
        caller_number: str | None,
        caller_context: str | None,
        dialed_external: bool,
        originated_external: bool,
    ) -> Direction:
        """inbound: from outside; outbound: an agent/dialer reaching outside; else internal."""
        if originated_external:
            return "outbound"
        if self.is_inbound_context(caller_context) or self.is_trunk(caller_channel):
            return "inbound"
        caller_internal = self.is_agent_channel(caller_channel) or self.is_internal_number(
            caller_number
        )
        if not caller_internal and self.is_external_number(caller_number):
            return "inbound"
        if dialed_external:
            return "outbound"
        return "internal"


def _peer_name(channel: str) -> str | None:
    slash = channel.find("/")
    if slash < 0:
        return None
    name = base_channel(channel[slash + 1 :])
    return name or None


def _compile(patterns: tuple[str, ...], key: str) -> re.Pattern[str] | None:
    """One alternation of all patterns; a bad regex is a :class:`ConfigError` naming it."""
    if not patterns:
        return None
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"config: {key}[{index}]: bad regex {pattern!r}: {exc}",
                details={"key": f"{key}[{index}]"},
            ) from None
    return re.compile("|".join(f"(?:{p})" for p in patterns))
