"""Caller-ID lookup: who is calling from ``number``? Indexed reads only, ranked candidates.

Two index probes on ``phones`` (``e164`` and ``tail``, one OR query), then the phones of the
few matched parties by ``contact_id``/``company_id`` index. Exact = same E.164; partial =
same last N digits (a number without country code, or another country's prefix), scored by
how many trailing digits agree.

Hot path: on a SQLite file the lookup reads through its own read-only ``sqlite3``
connection, on the event-loop thread. The two indexed reads take tens of microseconds, less
than one hop to aiosqlite's worker thread, and ``busy_timeout=0`` means it never waits on a
lock (on SQLITE_BUSY it falls back to the async path). PostgreSQL (and in-memory SQLite)
use the async engine with the same SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

from cti.crm_store.phones import digits, normalize
from cti.crm_store.store import Store

MatchStatus = Literal["exact", "partial", "multiple", "none"]
MAX_CANDIDATES = 10
_MAX_ROWS = 200

_MATCH_SQL = (
    "SELECT p.contact_id, p.company_id, p.e164, p.raw, c.first_name, c.last_name,"
    " co.id, co.name"
    " FROM phones p"
    " LEFT JOIN contacts c ON c.id = p.contact_id"
    " LEFT JOIN companies co ON co.id = COALESCE(c.company_id, p.company_id)"
    f" WHERE p.e164 = :e164 OR p.tail = :tail LIMIT {_MAX_ROWS}"
)
_PHONES_SQL = (
    "SELECT contact_id, company_id, e164, raw FROM phones"
    " WHERE contact_id IN {cids} OR (company_id IN {kids} AND contact_id IS NULL)"
    " ORDER BY id"
)
_PHONES_TEXT = text(_PHONES_SQL.format(cids=":cids", kids=":kids")).bindparams(
    bindparam("cids", expanding=True), bindparam("kids", expanding=True)
)
_MATCH_TEXT = text(_MATCH_SQL)
_PG_MATCH_SQL = _MATCH_SQL.replace(":e164", "$1::varchar").replace(":tail", "$2::varchar")
_PG_PHONES_SQL = (
    "SELECT contact_id, company_id, e164, raw FROM phones"
    " WHERE contact_id = ANY($1::int[]) OR (company_id = ANY($2::int[]) AND contact_id IS NULL)"
    " ORDER BY id"
)


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int | None
    name: str | None
    company_id: int | None
    company_name: str | None
    phones: list[str]
    matched_phone: str
    score: float


class Match(BaseModel):
    """The answer for one number: ``status`` and the candidates, best first."""

    model_config = ConfigDict(frozen=True)

    status: MatchStatus
    number: str
    candidates: list[Candidate]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def readonly_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection for reads on the event-loop thread: it never waits on a lock
    (``busy_timeout=0``; the caller falls back to the async engine on any SQLite error)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=0")
    conn.execute("PRAGMA query_only=ON")
    return conn


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (None: another backend, in-memory, or a ``file:`` URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class CallerLookup:
    """Resolve caller numbers against contact and company phones of a :class:`Store`.

    Create one per store and reuse it (it keeps its SQLite read connection open); call
    :meth:`close` on shutdown.
    """

    def __init__(self, store: Store, *, direct_sqlite: bool = True) -> None:
        """``direct_sqlite=False`` forces the async-engine path on SQLite too."""
        self.store = store
        self._sqlite_path = sqlite_file(store.url) if direct_sqlite else None
        self._asyncpg = store.engine.dialect.driver == "asyncpg"
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _sync_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = readonly_sqlite(str(self._sqlite_path))
        return self._conn

    async def lookup(self, number: str) -> Match:
        """Who owns ``number`` (any spelling: ``8916…``, ``+7916…``, ``916…``)."""
        cfg = self.store.phone
        e164 = normalize(number, cfg.default_region)
        plain = digits(e164 or number)
        shown = e164 or plain or number.strip()
        if len(plain) < cfg.tail_digits:
            return Match(status="none", number=shown, candidates=[])
        params = {"e164": e164, "tail": plain[-cfg.tail_digits :]}
        rows: Sequence[Sequence[Any]] | None = None
        if self._sqlite_path is not None:
            try:
                rows, phone_rows = self._query_sync(params)
            except sqlite3.OperationalError:
                self.close()  # locked or not yet created: the async path decides
                rows = None
        if rows is None:
            rows, phone_rows = await self._query_async(params)
        return _rank(shown, e164, plain, rows, phone_rows)

    def _query_sync(
        self, params: dict[str, Any]
    ) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
        conn = self._sync_conn()
        rows = conn.execute(_MATCH_SQL, params).fetchall()
        if not rows:
            return rows, []
        cids, kids = _party_ids(rows)
        sql = _PHONES_SQL.format(
            cids=f"({','.join('?' * len(cids)) or 'NULL'})",
            kids=f"({','.join('?' * len(kids)) or 'NULL'})",
        )
        return rows, conn.execute(sql, [*cids, *kids]).fetchall()

    async def _query_async(
        self, params: dict[str, Any]
    ) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
        async with self.store.engine.connect() as conn:
            if self._asyncpg:
                # straight to asyncpg (statements prepared and cached per connection):
                # skips SQLAlchemy's per-call compile/result layers: about half the latency
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                rows = list(await driver.fetch(_PG_MATCH_SQL, params["e164"], params["tail"]))
                if not rows:
                    return rows, []
                cids, kids = _party_ids(rows)
                return rows, list(await driver.fetch(_PG_PHONES_SQL, cids, kids))
            rows = list((await conn.execute(_MATCH_TEXT, params)).all())
            if not rows:
                return rows, []
            cids, kids = _party_ids(rows)
            phone_rows = (await conn.execute(_PHONES_TEXT, {"cids": cids, "kids": kids})).all()
            return rows, list(phone_rows)


def _party_ids(rows: Sequence[Sequence[Any]]) -> tuple[list[int], list[int]]:
    cids = sorted({r[0] for r in rows if r[0] is not None})
    kids = sorted({r[1] for r in rows if r[0] is None and r[1] is not None})
    return cids, kids


def _rank(
    shown: str,
    e164: str | None,
    plain: str,
    rows: Sequence[Sequence[Any]],
    phone_rows: Sequence[Sequence[Any]],
) -> Match:
    phones: dict[tuple[str, int], list[str]] = {}
    for contact_id, company_id, p_e164, raw in phone_rows:
        key = ("contact", contact_id) if contact_id is not None else ("company", company_id)
        phones.setdefault(key, []).append(p_e164 or raw)
    best: dict[tuple[str, int], Candidate] = {}
    for contact_id, company_id, p_e164, raw, first, last, co_id, co_name in rows:
        stored = p_e164 or raw
        if e164 is not None and p_e164 == e164:
            score = 1.0
        else:
            other = digits(stored)
            score = round(0.9 * _common_suffix(plain, other) / max(len(plain), len(other)), 4)
        key = ("contact", contact_id) if contact_id is not None else ("company", company_id)
        if key in best and best[key].score >= score:
            continue
        name = f"{first or ''} {last or ''}".strip() if contact_id is not None else co_name
        best[key] = Candidate(
            contact_id=contact_id,
            name=name,
            company_id=co_id,
            company_name=co_name,
            phones=phones.get(key, [stored]),
            matched_phone=stored,
            score=score,
        )
    ranked = sorted(
        best.values(),
        key=lambda c: (-c.score, c.contact_id is None, c.name or "", c.contact_id or 0),
    )[:MAX_CANDIDATES]
    if not ranked:
        return Match(status="none", number=shown, candidates=[])
    top = ranked[0].score
    # a contact outranks its company's switchboard number at the same score
    at_top = sum(1 for c in ranked if c.score == top and c.contact_id is not None)
    if at_top == 0:
        at_top = sum(1 for c in ranked if c.score == top)
    status: MatchStatus = "multiple" if at_top > 1 else "exact" if top == 1.0 else "partial"
    return Match(status=status, number=shown, candidates=ranked)
