"""Provisional: replaced by the dialer core's windows module at merge."""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone


def lead_zones(
    phone: str, contact_tz: str | None, default_tz: str | None
) -> tuple[tuple[str, ...], str]:
    if contact_tz:
        return (contact_tz,), "contact"
    parsed = phonenumbers.parse(phone, None)
    zones = tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
    if len(zones) == 1:
        return zones, "number"
    if default_tz:
        return (default_tz,), "default"
    return zones, "all"
