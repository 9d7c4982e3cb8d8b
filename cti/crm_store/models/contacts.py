"""Companies, contacts, their e-mails and phones (E.164 + indexed tail for caller-ID lookup)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cti.crm_store.models.base import Base, TimestampMixin

PHONE_KINDS = ("mobile", "work", "home", "other")


class Company(TimestampMixin, Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: lower-cased name: indexed prefix search and "same company" matching on import
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    website: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)

    contacts: Mapped[list[Contact]] = relationship(back_populates="company")
    phones: Mapped[list[Phone]] = relationship(
        back_populates="company", cascade="all, delete-orphan", passive_deletes=True
    )


class Contact(TimestampMixin, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    #: lower-cased "first last" and "last first": indexed prefix search by either name
    name_key: Mapped[str] = mapped_column(String(201), default="", index=True)
    rname_key: Mapped[str] = mapped_column(String(201), default="", index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: where the contact came from (e.g. ``import:contacts.csv``), for audits and re-runs
    source: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    company: Mapped[Company | None] = relationship(back_populates="contacts")
    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )
    phones: Mapped[list[Phone]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactEmail(Base):
    __tablename__ = "contact_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    #: stored lower-cased so search is an index lookup
    email: Mapped[str] = mapped_column(String(320), index=True)

    contact: Mapped[Contact] = relationship(back_populates="emails")


class Phone(TimestampMixin, Base):
    """A phone of a contact or of a company.

    ``e164`` is the normalized number; ``tail`` its last N digits (N = ``phone.tail_digits``),
    indexed, so partial caller-ID matches are index lookups, never ``LIKE '%…'`` scans.
    """

    __tablename__ = "phones"
    __table_args__ = (
        CheckConstraint("contact_id IS NOT NULL OR company_id IS NOT NULL", name="owner"),
        Index("ix_phones_e164", "e164"),
        Index("ix_phones_tail", "tail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str | None] = mapped_column(String(20))
    tail: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(10), default="mobile")

    contact: Mapped[Contact | None] = relationship(back_populates="phones")
    company: Mapped[Company | None] = relationship(back_populates="phones")
