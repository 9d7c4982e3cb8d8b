"""The reports' rollups: the call log's figures summed per UTC hour, day or quarter-hour.

A bucket is a whole number: the Unix time divided by its length (``hour`` = seconds // 3600,
``day`` = seconds // 86400, ``quarter`` = seconds // 900), so a bucket's local day or hour in
a zone is integer arithmetic on both backends (``(hour * 3600 + offset) // 86400``; 64-bit,
so past 2038 too). SQLite keeps them ``WITHOUT ROWID``: a period is one range of the key.

The reports over 30 days read these few thousand rows instead of a million calls. They are
kept by the call log's writer in the transaction that writes the calls (each call added,
a rewritten call taken out and put back: :mod:`cti.crm_store.rules.rollups`), built from the
calls already stored by revisions 0009 and 0010, and rebuilt for a period by ``cti rollups
rebuild``.
Every row's figures are sums (and a maximum) of the calls in its bucket, so any set of whole
buckets adds up to exactly what the calls give.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base


class _CallFigures:
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    #: the queue wait of these calls (a call with none counts 0), and the longest
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wait_max: Mapped[float] = mapped_column(Float, default=0.0)
    #: the IVR time before the queue, and how many of the calls had one
    ivr_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    ivr_calls: Mapped[int] = mapped_column(Integer, default=0)


class CallHour(_CallFigures, Base):
    """Calls started in one UTC hour, per direction, status and queue (``""``: none):
    the call totals and the queues report's counts, wait and IVR sums, longest wait."""

    __tablename__ = "report_call_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class CallDay(_CallFigures, Base):
    """The same per UTC day (its hours summed, the longest of their longest waits): a
    month is 30 rows per direction, status and queue."""

    __tablename__ = "report_call_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class QueueWaitDay(Base):
    """Inbound calls answered or abandoned in a queue, started in one UTC day, per whole
    second of queue wait (``wait`` = the wait rounded up: ``wait <= T`` for a whole ``T``):
    the service level and short abandons for any whole-second threshold."""

    __tablename__ = "report_queue_wait_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    wait: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class InboundQuarter(Base):
    """Inbound calls started in one UTC quarter-hour: the heat map in any zone whose offset
    is a whole number of quarter-hours (every zone in use)."""

    __tablename__ = "report_inbound_quarters"
    __table_args__ = ({"sqlite_with_rowid": False},)

    quarter: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class _AgentFigures:
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    ring_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    ring_no_answer_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class AgentQuarter(_AgentFigures, Base):
    """One agent's rings and talk parts per UTC quarter-hour. A call's rings to the agent
    count in the quarter of the first of them (offered once, answered once if any was), its
    talk parts in the quarter of the first part. Read for the hour that holds a local
    midnight in a zone whose offset is not a whole number of hours (India, Nepal,
    Newfoundland, central Australia): that hour belongs to two local days."""

    __tablename__ = "report_agent_quarters"
    __table_args__ = ({"sqlite_with_rowid": False},)

    quarter: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agent: Mapped[str] = mapped_column(String(32), primary_key=True)


class AgentHour(_AgentFigures, Base):
    """The same per UTC hour (the sum of the hour's quarters)."""

    __tablename__ = "report_agent_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agent: Mapped[str] = mapped_column(String(32), primary_key=True)


class AgentDay(_AgentFigures, Base):
    """The same per UTC day (the sum of the day's hours): a month is 30 rows per agent, and
    a local day is its UTC day with the hours the zone's offset moves taken out or in."""

    __tablename__ = "report_agent_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agent: Mapped[str] = mapped_column(String(32), primary_key=True)
