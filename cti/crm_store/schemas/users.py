"""Users, login and tokens as they cross the store's boundary (passwords only ever inbound)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from cti.crm_store.schemas.common import Flag, InModel, OutModel
from cti.crm_store.timeutil import UtcDateTime

Role = Literal["operator", "supervisor", "manager"]
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
EXTENSION_PATTERN = r"^[A-Za-z0-9*#/_.-]{1,32}$"
MIN_PASSWORD = 8


def _check_extensions(value: list[str]) -> list[str]:
    import re

    for ext in value:
        if not re.fullmatch(EXTENSION_PATTERN, ext):
            raise ValueError(f"invalid extension {ext!r}")
    if len(set(value)) != len(value):
        raise ValueError("duplicate extension")
    return value


def _check_password(value: SecretStr) -> SecretStr:
    size = len(value.get_secret_value())
    if not MIN_PASSWORD <= size <= 1024:
        raise ValueError(f"must be {MIN_PASSWORD} to 1024 characters long")
    return value


class UserIn(InModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: SecretStr
    role: Role = "operator"
    full_name: str = Field(default="", max_length=200)
    extensions: list[str] = Field(default_factory=list, max_length=20)

    _ext = field_validator("extensions")(_check_extensions)
    _pw = field_validator("password")(_check_password)


class UserPatch(InModel):
    password: SecretStr | None = None
    role: Role | None = None
    full_name: str | None = Field(default=None, max_length=200)
    extensions: list[str] | None = Field(default=None, max_length=20)
    active: Flag | None = None

    @field_validator("extensions")
    @classmethod
    def _extensions(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_extensions(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else _check_password(value)


class UserOut(OutModel):
    id: int
    username: str
    full_name: str
    role: Role
    active: bool
    extensions: list[str]
    created_at: UtcDateTime

    @field_validator("extensions", mode="before")
    @classmethod
    def _ext_names(cls, value: Any) -> Any:
        """ORM rows carry ``UserExtension`` objects; the API shows their numbers."""
        if isinstance(value, list | tuple):
            return [getattr(v, "extension", v) for v in value]
        return value


class LoginIn(InModel):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)
    #: the device token an earlier login gave this browser (keeps it out of limits that an
    #: attacker at the same address, or guessing the account elsewhere, would hit)
    device: SecretStr | None = Field(default=None, min_length=16, max_length=128)


class IssuedToken(OutModel):
    """A fresh bearer token: shown once, only its SHA-256 is stored."""

    token: str
    expires_at: UtcDateTime


class LoginOut(OutModel):
    token: str
    expires_at: UtcDateTime
    user: UserOut
    #: keep it (e.g. in the browser's local storage) and send it with the next login
    device: str
