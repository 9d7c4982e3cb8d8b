"""SQL pieces the repositories share: fetch-or-404, reference checks, pages, indexed filters.

They keep each repository short and make every error name the field and the id involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cti.config import PhoneConfig
from cti.crm_store.models import Phone
from cti.crm_store.models.base import Base
from cti.crm_store.rules.contacts import phone_key
from cti.crm_store.rules.fields import invalid
from cti.crm_store.schemas.common import Page, PageParams
from cti.errors import NotFoundError

M = TypeVar("M", bound=Base)
OutT = TypeVar("OutT", bound=BaseModel)
#: field → (model, id) of the rows a write refers to
Refs = Mapping[str, tuple[type[Base], int | None]]

_TOP = "\U0010ffff"


async def get_or_404(session: AsyncSession, model: type[M], obj_id: int, what: str) -> M:
    obj = await session.get(model, obj_id)
    if obj is None:
        raise NotFoundError(f"{what} {obj_id} not found", details={"id": obj_id, "type": what})
    return obj


async def ensure_refs(session: AsyncSession, refs: Refs) -> None:
    """Check each referenced row exists; a dangling id is a 422 naming its field."""
    for field, (model, ref_id) in refs.items():
        if ref_id is not None and await session.get(model, ref_id) is None:
            raise invalid(field, f"no such record: {ref_id}")


def refs_of(values: Mapping[str, Any], models: Mapping[str, type[Base]]) -> Refs:
    """The references among ``values`` (fields of ``models`` with a value)."""
    return {f: (m, values[f]) for f, m in models.items() if values.get(f) is not None}


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


def where_equal(stmt: Select[Any], model: type[Base], query: Any, fields: Sequence[str]) -> Any:
    """``stmt`` limited to rows whose ``fields`` equal the query's (those it sets)."""
    for field in fields:
        value = getattr(query, field)
        if value is not None:
            stmt = stmt.where(getattr(model, field) == value)
    return stmt


def prefix_match(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` as an index range scan on both backends.

    The range drives the B-tree; the ``LIKE`` only re-checks the few rows inside it, which
    keeps results right under non-binary PostgreSQL collations too.
    """
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return and_(column >= prefix, column < prefix + _TOP, column.like(escaped + "%", escape="\\"))


def words_in(column: Any, q: str) -> list[ColumnElement[bool]]:
    """Case-insensitive "contains every word" conditions (short lists, never caller-ID)."""
    out: list[ColumnElement[bool]] = []
    for word in q.lower().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(func.lower(column).like(f"%{escaped}%", escape="\\"))
    return out


def phone_filter(number: str, config: PhoneConfig, field: str = "phone") -> ColumnElement[bool]:
    """Indexed condition on :class:`Phone` for a searched number (E.164, else its tail)."""
    kind, value = phone_key(number, config, field)
    return Phone.e164 == value if kind == "e164" else Phone.tail == value


def party_phone_filter(
    config: PhoneConfig, phone: str, contact_col: Any, company_col: Any
) -> ColumnElement[bool]:
    """Rows whose contact or company has ``phone`` (indexed E.164/tail lookup)."""
    cond = phone_filter(phone, config)
    return or_(
        contact_col.in_(select(Phone.contact_id).where(cond, Phone.contact_id.is_not(None))),
        company_col.in_(select(Phone.company_id).where(cond, Phone.company_id.is_not(None))),
    )
