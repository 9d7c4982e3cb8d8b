"""Field-naming validation errors, in the two shapes the API has always answered with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cti.errors import ValidationError


def invalid(field: str, message: str) -> ValidationError:
    """A 422 naming ``field`` the way pydantic errors are reported (``details.fields``);
    deals, tasks, notes and tickets answer with it."""
    return ValidationError(f"{field}: {message}", details={"fields": {field: message}})


def invalid_field(field: str, reason: str) -> ValidationError:
    """A 422 with ``details.field`` and ``details.reason`` (``phones[0].number: not a valid
    …``); contacts, companies and phone searches answer with it."""
    return ValidationError(f"{field}: {reason}", details={"field": field, "reason": reason})


def refuse_nulls(values: Mapping[str, Any], fields: Iterable[str]) -> None:
    """A patch may leave these fields out, not set them to null."""
    for field in fields:
        if field in values and values[field] is None:
            raise invalid(field, "may not be null")
