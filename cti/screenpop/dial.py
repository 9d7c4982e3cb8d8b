"""Click-to-dial: ring the operator's own phone first, then dial the number from it.

The one AMI action used is :func:`cti.ami.actions.originate` (the narrow interface to the
PBX). The channel/context shape follows the lab dialplan (``Local/<ext>@agents`` rings the
agent, context ``outbound`` dials the number) and can be changed per deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cti.ami.actions import ActionSender, PbxUnavailableError, originate
from cti.crm_store.phones import digits, normalize
from cti.errors import ForbiddenError, ValidationError


@dataclass
class ClickToDial:
    """Originates operator-first calls on one of the connected PBXes."""

    #: the live connections by PBX name (read at each dial: PBXes connect and drop)
    pbxes: Callable[[], Mapping[str, ActionSender]]
    region: str = "RU"
    agent_channel: str = "Local/{ext}@agents"
    context: str = "outbound"
    ring_seconds: float = 30.0

    async def dial(
        self, *, extensions: tuple[str, ...], number: str, extension: str | None, pbx: str | None
    ) -> dict[str, str]:
        """Start the call; returns ``action_id``, ``pbx``, ``extension`` and the dialled number."""
        if not extensions:
            raise ForbiddenError("you have no phone extension to dial from", details={})
        ext = extension or extensions[0]
        if ext not in extensions:
            raise ForbiddenError(f"extension {ext!r} is not yours", details={"field": "extension"})
        e164 = normalize(number, self.region)
        if e164 is None:
            raise ValidationError(
                f"number: not a valid phone number: {number[:40]!r}", details={"field": "number"}
            )
        available = self.pbxes()
        if pbx is not None:
            sender = available.get(pbx)
            if sender is None:
                raise PbxUnavailableError(f"PBX {pbx!r} is not connected", details={"pbx": pbx})
        elif available:
            pbx, sender = next(iter(available.items()))
        else:
            raise PbxUnavailableError("no PBX is connected", details={})
        dialled = digits(e164)
        action_id = await originate(
            sender,
            channel=self.agent_channel.format(ext=ext),
            context=self.context,
            exten=dialled,
            caller_id=f'"{dialled}" <{dialled}>',
            ring_seconds=self.ring_seconds,
            variables={"CTI_CLICK2DIAL": ext},
        )
        return {"action_id": action_id, "pbx": pbx, "extension": ext, "number": e164}
