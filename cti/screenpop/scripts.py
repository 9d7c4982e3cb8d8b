"""Call scripts (``campaigns/scripts/*.yaml``) and the rules that pick one for a call.

Scripts are data so supervisors can edit wording without a release. A script says *when* it
applies (``when:``: open ticket, open deal, a campaign, a queue, a match status) and a
``priority``; the highest-priority script whose conditions all hold wins, and ``default``
catches the rest. A dialer call uses its campaign's survey script: the campaign file
(``campaigns/<campaign>.yaml``, key ``script``) names it, else a script whose
``when.campaign`` names the campaign (or is ``true``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti.errors import ConfigError, FileAccessError
from cti.surveys.script import Question, Script, When, load_script_file, parse_script
from cti.surveys.script import load_yaml as _load_yaml

log = logging.getLogger(__name__)

#: the shipped ``campaigns/`` folder (package data: example campaigns, ``scripts/``)
DEFAULT_CAMPAIGNS_DIR = Path(__file__).resolve().parents[1] / "campaigns"

__all__ = [
    "DEFAULT_CAMPAIGNS_DIR",
    "CallFacts",
    "Question",
    "Script",
    "ScriptBook",
    "When",
    "load_script_file",
]


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the rules look at: known before the script is chosen."""

    campaign: str | None = None
    queue: str | None = None
    match_status: str = "none"
    open_tickets: int = 0
    open_deals: int = 0


@dataclass
class ScriptBook:
    """All scripts of a ``campaigns/`` folder, loaded once and validated at start."""

    scripts: dict[str, Script]
    campaign_scripts: dict[str, str] = field(default_factory=dict)
    #: campaign name → the script stored with the campaign (the store is the truth for a
    #: loaded campaign; the dialer keeps this fresh)
    stored: dict[str, Script] = field(default_factory=dict)
    #: campaigns whose stored script fails today's checks (logged once)
    refused: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, campaigns_dir: Path | None = None) -> ScriptBook:
        """Read ``<dir>/scripts/*.yaml`` and the ``script`` key of ``<dir>/*.yaml``.

        A malformed script fails loudly (ConfigError naming the file); a campaign file we
        cannot read only loses its script link (campaign files belong to the dialer).
        """
        base = campaigns_dir or DEFAULT_CAMPAIGNS_DIR
        scripts: dict[str, Script] = {}
        for path in sorted((base / "scripts").glob("*.yaml")):
            script = load_script_file(path)
            scripts[script.name] = script
        links: dict[str, str] = {}
        for path in sorted(base.glob("*.yaml")):
            try:
                data = _load_yaml(path)
            except (ConfigError, FileAccessError) as exc:
                log.warning("campaign file skipped: %s", exc.message)
                continue
            if isinstance(data, dict) and isinstance(data.get("script"), str):
                name = data.get("name") if isinstance(data.get("name"), str) else path.stem
                links[str(name)] = data["script"]
        return cls(scripts=scripts, campaign_scripts=links)

    def remember(self, campaign: str, script: dict[str, Any] | None) -> None:
        """The script a loaded campaign stores (``Script.to_json``), or none. One stored by
        an older build that today's checks refuse (a choice with one option, a loop) is
        left out, said once in the log: its calls get the script files' choice."""
        if script is None:
            self.stored.pop(campaign, None)
            return
        try:
            parsed = parse_script(script, f"campaign {campaign!r}'s stored script")
        except ConfigError as exc:
            if campaign not in self.refused:
                log.warning("%s: reload the campaign with a valid script", exc.message)
            self.refused.add(campaign)
            self.stored.pop(campaign, None)
            return
        self.refused.discard(campaign)
        self.stored[campaign] = parsed

    def choose(self, facts: CallFacts) -> Script | None:
        """The script for a call: the campaign's link first, then the best matching rule."""
        if facts.campaign is not None:
            if facts.campaign in self.stored:
                return self.stored[facts.campaign]
            linked = self.campaign_scripts.get(facts.campaign)
            if linked is not None and linked in self.scripts:
                return self.scripts[linked]
            # a dialer call: a campaign script beats the caller rules (open ticket …)
            survey = self._best(facts, campaign_only=True)
            if survey is not None:
                return survey
        return self._best(facts, campaign_only=False) or self.scripts.get("default")

    def _best(self, facts: CallFacts, *, campaign_only: bool) -> Script | None:
        best: Script | None = None
        for script in self.scripts.values():
            if script.when is None or not _holds(script.when, facts):
                continue
            if campaign_only and script.when.campaign in (None, False):
                continue
            if best is None or script.priority > best.priority:
                best = script
        return best


def _holds(when: When, facts: CallFacts) -> bool:
    if when.has_open_ticket is not None and when.has_open_ticket != (facts.open_tickets > 0):
        return False
    if when.has_open_deal is not None and when.has_open_deal != (facts.open_deals > 0):
        return False
    if when.campaign is not None:
        if when.campaign is True and facts.campaign is None:
            return False
        if when.campaign is False and facts.campaign is not None:
            return False
        if isinstance(when.campaign, str) and when.campaign != facts.campaign:
            return False
    if when.queue is not None and when.queue != facts.queue:
        return False
    return when.match_status is None or facts.match_status in when.match_status
