"""Campaign lifecycle: load a file as a new version, start, pause, resume, stop.

Used by ``cti campaign …`` and the REST API alike; the store is the source of truth, so a
second daemon, or the same one after a restart, sees the same campaigns in the same state.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError as PydanticValidationError

from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.schemas.campaigns import CampaignOut, LoadResult
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer.campaign_file import CampaignSpec, parse_campaign, read_campaign_file
from cti.errors import NotFoundError, ValidationError
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR, Script, load_script_file

Transition = Literal["start", "pause", "resume", "stop"]
#: each command: the statuses it may start from, and the status it gives
TRANSITIONS: dict[Transition, tuple[tuple[str, ...], str]] = {
    "start": (("draft", "stopped"), "running"),
    "pause": (("running",), "paused"),
    "resume": (("paused",), "running"),
    "stop": (("draft", "running", "paused"), "stopped"),
}


def find_script(name: str, beside: Path | None) -> tuple[Script, str]:
    """The script ``name``: ``scripts/<name>.yaml`` next to the campaign file, else the
    shipped one; returns it with the file's text (part of the version's fingerprint)."""
    places = [beside / "scripts"] if beside is not None else []
    places.append(DEFAULT_CAMPAIGNS_DIR / "scripts")
    for folder in places:
        path = folder / f"{name}.yaml"
        if path.is_file():
            return load_script_file(path), path.read_text(encoding="utf-8")
    looked = ", ".join(str(p) for p in places)
    raise ValidationError(
        f"script: no script {name!r} (looked for {name}.yaml in {looked})",
        details={"field": "script"},
    )


def spec_of(campaign: CampaignOut) -> CampaignSpec:
    """The stored definition as the dialer uses it."""
    try:
        return CampaignSpec.model_validate(campaign.spec)
    except PydanticValidationError as exc:  # written by this code: a bug or a hand edit
        raise ValidationError(
            f"campaign {campaign.name}: stored definition is invalid: {exc.errors()[0]['msg']}",
            details={"id": campaign.id},
        ) from None


class CampaignService:
    def __init__(self, store: Store) -> None:
        self.repo = CampaignRepo(store)

    async def load_file(self, path: Path, *, loaded_by: str | None = None) -> LoadResult:
        """Validate ``path`` (and its script) whole, then store it as the campaign's next
        version; loading an unchanged file changes nothing."""
        spec, text = read_campaign_file(path)
        return await self._save(spec, text, source=str(path), beside=path.parent, by=loaded_by)

    async def load_data(
        self, data: Any, *, source: str, loaded_by: str | None = None
    ) -> LoadResult:
        """Like :meth:`load_file` for a definition sent over the API (as parsed JSON)."""
        spec = parse_campaign(data, source)
        text = spec.model_dump_json(by_alias=True)
        return await self._save(spec, text, source=source, beside=None, by=loaded_by)

    async def _save(
        self, spec: CampaignSpec, text: str, *, source: str, beside: Path | None, by: str | None
    ) -> LoadResult:
        script: dict[str, Any] | None = None
        fingerprint = hashlib.sha256(text.encode())
        if spec.script is not None:
            found, script_text = find_script(spec.script, beside)
            script = found.to_json()
            fingerprint.update(b"\0" + script_text.encode())
        return await self.repo.save_version(
            name=spec.name,
            title=spec.title or spec.name,
            spec=spec.model_dump(mode="json", by_alias=True),
            script=script,
            source_text=text,
            source=source,
            sha256=fingerprint.hexdigest(),
            loaded_by=by,
            now=utcnow(),
        )

    async def named(self, name: str) -> CampaignOut:
        found = await self.repo.by_name(name)
        if found is None:
            raise NotFoundError(f"no campaign named {name!r}", details={"name": name})
        return found

    async def change(self, campaign_id: int, command: Transition) -> CampaignOut:
        allowed, status = TRANSITIONS[command]
        return await self.repo.set_status(
            campaign_id, allowed_from=allowed, status=status, now=utcnow(), command=command
        )
