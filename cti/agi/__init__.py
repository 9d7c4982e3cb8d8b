"""Keypad (IVR) surveys over FastAGI: the server inside the daemon and the survey runner.

``protocol.py`` (the wire format, pure), ``channel.py`` (one connection: deadlines, bounds,
hang-up detection), ``keypad.py`` (a survey on the keypad, against the :class:`KeypadFlow`
interface the survey service implements), ``server.py`` (listening, the peer allowlist, one
task per call). ``cti serve`` starts it when ``[agi] enabled`` (``cti/daemon.py``); the
survey service plugs its flows in with :data:`AGI_FLOWS`. See ``docs/keypad-surveys.md``.
"""

from __future__ import annotations

from aiohttp import web

from cti.agi.server import FastAgiServer, FlowFactory

#: the survey flows of the daemon's FastAGI server (set by the survey feature's setup hook;
#: absent: every script is unknown to the caller)
AGI_FLOWS: web.AppKey[FlowFactory] = web.AppKey("agi_flows")
#: the running FastAGI server (owned by cti.daemon.build_app's cleanup_ctx)
AGI_SERVER = web.AppKey("agi_server", FastAgiServer)

__all__ = ["AGI_FLOWS", "AGI_SERVER", "FastAgiServer", "FlowFactory"]
