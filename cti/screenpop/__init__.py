"""Screen-pop: who is calling, on the operator's screen the moment their phone rings.

``setup(app)`` adds the WebSocket hub (``/ws``), click-to-dial and the operator page to a cti
aiohttp application (``cti serve`` and ``cti demo`` call it).
"""

from __future__ import annotations

from typing import Any


def setup(app: Any, **options: Any) -> None:
    """Add the screen-pop to ``app`` (see :func:`cti.screenpop.service.setup`)."""
    from cti.screenpop.service import setup as _setup

    _setup(app, **options)
