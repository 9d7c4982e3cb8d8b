"""Surveys: scripts with branching (``script.py``, checked by ``checks.py``), the walk
(``flow.py``), saving each answer at once (``service.py``), results and CSV (``results.py``,
``reports.py``), REST (``http.py``) and ``cti survey`` (``cli.py``).

``setup(app)`` adds the survey routes to a cti application.
"""

from __future__ import annotations

from typing import Any


def setup(app: Any) -> None:
    """Add the survey routes to ``app`` (see :func:`cti.surveys.http.setup`)."""
    from cti.surveys.http import setup as _setup

    _setup(app)
