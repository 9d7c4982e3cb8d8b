"""Reports for managers: agent sessions, the agents, queues, callbacks, heat map,
campaigns and SLA reports (REST, ``cti report``), and the manager page.

``setup(app)`` adds the report routes, the manager page and the agent session consumer to
a cti application (``cti serve`` lists it among its hooks).
"""

from __future__ import annotations

from typing import Any


def setup(app: Any) -> None:
    """Add the reports to ``app`` (see :func:`cti.reports.http.setup`)."""
    from cti.reports.http import setup as _setup

    _setup(app)
