"""Shared schema pieces: the bounded scalar types every input uses, and pagination.

Bodies are validated strictly (:func:`cti.web.routing.read_body`: a JSON ``0`` is not a bool,
``"5"`` is not an id); query strings arrive as text and are parsed by the same types, which
accept only the plain spelling (``true``/``false``, decimal digits). An integer outside its
range is a field error here, never a database driver's error (a 500) later.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")

#: record ids are positive and fit a 32-bit column (the smallest the backends use)
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 200
_INT_TEXT = re.compile(r"-?[0-9]+")


def _plain_int(value: Any) -> Any:
    """Query text: decimal digits only (not ``1_0``, `` 1``, ``+1``, ``1.0``)."""
    if isinstance(value, str):
        if not _INT_TEXT.fullmatch(value):
            raise ValueError("must be a whole number written in decimal digits")
        if len(value) > 30:
            raise ValueError("is out of range")
    return value


def _plain_bool(value: Any) -> Any:
    """Query text: ``true`` or ``false`` (not ``1``, ``yes``, ``on``)."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value  # text is read by pydantic in a query, and refused in a (strict) body


#: the check of every whole number a query sends (for schemas with their own bounds)
plain_int = _plain_int

#: the id of a record, as a client sends it in a body or a query (in the path:
#: :func:`cti.web.routing.path_id`, a 404 when out of range)
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_plain_int)]
PageNo = Annotated[int, Field(ge=1, le=MAX_PAGE), BeforeValidator(_plain_int)]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE), BeforeValidator(_plain_int)]
Flag = Annotated[bool, BeforeValidator(_plain_bool)]


class InModel(BaseModel):
    """Base for input schemas: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageParams(InModel):
    page: PageNo = 1
    per_page: PerPage = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
