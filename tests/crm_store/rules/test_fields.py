"""The two shapes of a field-naming 422, and fields a patch may not null."""

from __future__ import annotations

import pytest

from cti.crm_store.rules.fields import invalid, invalid_field, refuse_nulls
from cti.errors import ValidationError


def test_both_error_shapes_name_the_field() -> None:
    assert invalid("stage", "unknown").details == {"fields": {"stage": "unknown"}}
    assert invalid_field("phone", "too short").details == {"field": "phone", "reason": "too short"}
    assert str(invalid("stage", "unknown")) == "stage: unknown"


def test_a_patch_may_leave_a_field_out_but_not_null_it() -> None:
    refuse_nulls({"title": "x", "notes": None}, ("title", "status"))
    with pytest.raises(ValidationError, match="status: may not be null"):
        refuse_nulls({"status": None}, ("title", "status"))
