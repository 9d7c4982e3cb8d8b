"""Telemarketing: campaigns, dial lists, do-not-call, the pacing dialer.

``setup(app)`` adds the campaign and do-not-call REST routes to a cti application.
"""

from __future__ import annotations

from typing import Any


def setup(app: Any) -> None:
    """Add the dialer's routes to ``app`` (see :func:`cti.dialer.http.setup`)."""
    from cti.dialer.http import setup as _setup

    _setup(app)
