"""Record ids as they arrive from outside: positive and within a 32-bit column's range.

An out-of-range id would otherwise reach the database and fail there (a 500 on PostgreSQL)
instead of being reported as the field that is wrong.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1

RefId = Annotated[int, Field(ge=1, le=MAX_ID)]
