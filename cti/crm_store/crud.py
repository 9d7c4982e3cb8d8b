"""Small helpers the entity services share: fetch-or-404, reference checks, pagination.

They keep each service short and make every error name the field and the id involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.base import Base
from cti.crm_store.schemas.common import Page, PageParams
from cti.errors import NotFoundError, ValidationError

M = TypeVar("M", bound=Base)
OutT = TypeVar("OutT", bound=BaseModel)


def invalid(field: str, message: str) -> ValidationError:
    """A 422 error naming ``field`` the same way pydantic errors are reported."""
    return ValidationError(f"{field}: {message}", details={"fields": {field: message}})


async def get_or_404(session: AsyncSession, model: type[M], obj_id: int, what: str) -> M:
    obj = await session.get(model, obj_id)
    if obj is None:
        raise NotFoundError(f"{what} {obj_id} not found", details={"id": obj_id, "type": what})
    return obj


async def ensure_refs(
    session: AsyncSession, refs: Mapping[str, tuple[type[Base], int | None]]
) -> None:
    """Check each referenced row exists; a dangling id is a 422 naming its field."""
    for field, (model, ref_id) in refs.items():
        if ref_id is not None and await session.get(model, ref_id) is None:
            raise invalid(field, f"no such record: {ref_id}")


def apply_patch(obj: Any, data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        setattr(obj, key, value)


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    out: type[OutT],
    order_by: Sequence[Any],
) -> Page[OutT]:
    """Run ``stmt`` for one page (ordered by ``order_by``) and count the whole result."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = await session.scalars(
        stmt.order_by(*order_by).limit(params.per_page).offset(params.offset)
    )
    return Page[out](  # type: ignore[valid-type]
        items=[out.model_validate(row) for row in rows],
        total=total or 0,
        page=params.page,
        per_page=params.per_page,
    )
