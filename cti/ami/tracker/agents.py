"""Handlers of the AMI events about agents rather than calls: device states and queue
members. They keep no state: each event becomes one domain event, so that the dialer and
the agent reports follow what the PBX says an agent's phone and queue membership are doing
(whoever placed the call, whoever paused the member)."""

from __future__ import annotations

from cti.ami.events import DeviceStateChanged, QueueMemberChanged
from cti.ami.tracker.base import Msg, TrackerBase

#: QueueMember* event → the change it reports (Pause: paused or unpaused by its Paused)
_MEMBER_CHANGE = {
    "QueueMemberAdded": "added",
    "QueueMemberRemoved": "removed",
    "QueueMemberStatus": "status",
}


class AgentHandlers(TrackerBase):
    """DeviceStateChange and QueueMemberAdded/Removed/Pause(d)/Status."""

    def _extension(self, *interfaces: str | None) -> str | None:
        """The agent extension of the first interface that names one (``PJSIP/101``,
        ``Local/101@agents`` → ``101``), by the rules that name agents on calls."""
        for interface in interfaces:
            ident = self._cls.device_agent(interface) if interface else None
            if ident is not None:
                return ident
        return None

    def _device_state(self, msg: Msg) -> None:
        device = msg.get("Device")
        state = msg.get("State")
        if not device or not state:
            return
        self._emit(DeviceStateChanged(self.pbx, device, self._extension(device), state, self._ts()))

    def _queue_member(self, msg: Msg) -> None:
        queue = msg.get("Queue")
        interface = msg.get("Interface") or msg.get("Location")  # Location: before Asterisk 12
        if not queue or not interface:
            return
        paused = msg.get("Paused") == "1"
        name = msg.get("Event", "")
        change = _MEMBER_CHANGE.get(name) or ("paused" if paused else "unpaused")
        # PausedReason since Asterisk 13; QueueMemberPause(d) of older versions says Reason
        reason = msg.get("PausedReason") or msg.get("Reason") or None
        status = msg.get("Status", "")
        in_call = msg.get("InCall")
        self._emit(
            QueueMemberChanged(
                self.pbx,
                queue,
                interface,
                self._extension(interface, msg.get("StateInterface")),
                change,
                paused,
                reason,
                int(status) if status.isdigit() else None,
                None if in_call is None else in_call == "1",
                self._ts(),
            )
        )
