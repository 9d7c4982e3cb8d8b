"""Click-to-dial: ring the operator's own phone first, then dial the number from it.

The one AMI action used is :func:`cti.ami.actions.originate` (the narrow interface to the
PBX). Which channel rings the operator, which context dials the number and how the number is
written come from the PBX's ``[pbx.NAME.dial]`` settings (:class:`cti.config.DialConfig`),
since every site's dialplan differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cti.ami.actions import ActionSender, PbxUnavailableError, originate
from cti.config import DialConfig
from cti.crm_store.phones import dialable, normalize
from cti.errors import ForbiddenError, ValidationError


@dataclass
class ClickToDial:
    """Originates operator-first calls on one of the connected PBXes."""

    #: the live connections by PBX name (read at each dial: PBXes connect and drop)
    pbxes: Callable[[], Mapping[str, ActionSender]]
    region: str = "RU"
    #: each PBX's dialling settings (a PBX not named here uses the defaults)
    routes: Mapping[str, DialConfig] = field(default_factory=dict)

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
        route = self.routes.get(pbx) or DialConfig()
        dialled = route.prefix + dialable(e164, route.number_format, self.region)
        action_id = await originate(
            sender,
            channel=route.agent_channel.format(ext=ext),
            context=route.context,
            exten=dialled,
            caller_id=f'"{dialled}" <{dialled}>',
            ring_seconds=route.ring_seconds,
            variables={"CTI_CLICK2DIAL": ext},
        )
        return {"action_id": action_id, "pbx": pbx, "extension": ext, "number": e164}
