"""SQL pieces the repositories share: fetch-or-404, reference checks, pages, indexed filters.

They keep each repository short and make every error name the field and the id involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cti.config import PhoneConfig
from cti.crm_store.models import Phone
from cti.crm_store.models.base import Base
from cti.crm_store.rules.contacts import phone_key
from cti.crm_store.rules.fields import invalid
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.store import Store
from cti.errors import NotFoundError

M = TypeVar("M", bound=Base)
OutT = TypeVar("OutT", bound=BaseModel)
#: field → (model, id) of the rows a write refers to
Refs = Mapping[str, tuple[type[Base], int | None]]

_TOP = "\U0010ffff"


class RowRepo(Generic[M, OutT]):
    """Create, read, change and delete rows of one table, each in a session of its own, with
    the references named in ``refs`` checked in the writing transaction.

    ``check`` (optional) sees the row as it is before anything else happens (e.g. whether the
    caller may touch it) and raises to refuse; ``decide`` gets the same snapshot and returns
    the columns to set besides ``values`` (a rule: the read, the decision and the write are
    one transaction).
    """

    def __init__(
        self,
        store: Store,
        model: type[M],
        out: type[OutT],
        what: str,
        refs: Mapping[str, type[Base]],
    ) -> None:
        self.store = store
        self.model = model
        self.out = out
        self.what = what
        self.refs = refs

    async def create(self, values: Mapping[str, Any]) -> OutT:
        async with self.store.sessions() as session:
            await ensure_refs(session, refs_of(values, self.refs))
            row = self.model(**values)
            session.add(row)
            await session.commit()
            return self.out.model_validate(row)

    async def get(self, row_id: int, check: Callable[[OutT], None] | None = None) -> OutT:
        async with self.store.sessions() as session:
            out = self.out.model_validate(await get_or_404(session, self.model, row_id, self.what))
        if check is not None:
            check(out)
        return out

    async def update(
        self,
        row_id: int,
        values: Mapping[str, Any],
        decide: Callable[[OutT], Mapping[str, Any]] | None = None,
        check: Callable[[OutT], None] | None = None,
    ) -> OutT:
        """Write ``values`` and what ``decide`` makes of the row as it is now."""
        async with self.store.sessions() as session:
            row = await get_or_404(session, self.model, row_id, self.what)
            current = self.out.model_validate(row)
            if check is not None:
                check(current)
            await ensure_refs(session, refs_of(values, self.refs))
            apply_patch(row, {**values, **(decide(current) if decide is not None else {})})
            await session.commit()
            await session.refresh(row)
            return self.out.model_validate(row)

    async def delete(self, row_id: int, check: Callable[[OutT], None] | None = None) -> None:
        """Delete the row (read first when there is a ``check`` to pass)."""
        async with self.store.sessions() as session:
            if check is not None:
                row = await get_or_404(session, self.model, row_id, self.what)
                check(self.out.model_validate(row))
                await session.delete(row)
                await session.commit()
                return
            primary_key = self.model.__table__.c.id
            result = await session.execute(delete(self.model).where(primary_key == row_id))
            await session.commit()
            if not getattr(result, "rowcount", 0):
                msg = f"{self.what} {row_id} not found"
                raise NotFoundError(msg, details={"id": row_id})


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
