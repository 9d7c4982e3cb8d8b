"""``cti db upgrade`` and ``cti user add`` / ``cti user list``: the store from the shell.

Passwords come from a hidden prompt (asked twice) or, for scripts, the first line of standard
input with ``--password-stdin``; never from an argument, where they would land in the shell
history and the process list.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError as PydanticValidationError

from cti.cli import settings_from
from cti.config import Settings, mask_url
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.errors import ValidationError

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database schema to the newest revision."""
    settings = settings_from(ctx)
    asyncio.run(upgrade_database(settings.db_url))
    typer.echo(f"database {mask_url(settings.db_url)} is at the newest revision")


T = TypeVar("T")

user_app = typer.Typer(
    help="Manage users (operators, supervisors, managers).", no_args_is_help=True
)


def _run(settings: Settings, work: Callable[[UserService], Awaitable[T]]) -> T:
    async def main() -> T:
        store = await Store.open(settings.db_url, settings.phone)
        try:
            return await work(UserService(store, settings.auth))
        finally:
            await store.close()

    return asyncio.run(main())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def user_input(
    username: str, role: str, extensions: list[str], full_name: str, password: str
) -> UserIn:
    """Validated user data; a bad value is a :class:`ValidationError` naming the option."""
    try:
        return UserIn.model_validate(
            {
                "username": username,
                "password": password,
                "role": role,
                "extensions": extensions,
                "full_name": full_name,
            }
        )
    except PydanticValidationError as exc:
        fields = {
            ".".join(str(p) for p in err["loc"]) or "input": err["msg"]
            for err in exc.errors(include_input=False)
        }
        message = "; ".join(f"{field}: {msg}" for field, msg in fields.items())
        raise ValidationError(message, details={"fields": fields}) from None


@user_app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option("--role", "-r", help="operator, supervisor or manager")],
    extension: Annotated[
        list[str] | None, typer.Option("--extension", "-e", help="Agent extension (repeatable)")
    ] = None,
    full_name: Annotated[str, typer.Option("--full-name", help="Display name")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a user."""
    settings = settings_from(ctx)
    password = _read_password(password_stdin)
    data = user_input(username, role, list(extension or []), full_name, password)
    user = _run(settings, lambda users: users.create(data))
    exts = ", ".join(user.extensions) or "no extensions"
    typer.echo(f"created user {user.username} (id {user.id}, {user.role}, {exts})")


@user_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List every user."""
    from rich.console import Console
    from rich.table import Table

    from cti.crm_store.schemas.common import MAX_PER_PAGE, PageParams

    settings = settings_from(ctx)

    async def fetch(users: UserService) -> list[list[str]]:
        rows: list[list[str]] = []
        page = 1
        while True:
            result = await users.search(params=PageParams(page=page, per_page=MAX_PER_PAGE))
            for u in result.items:
                active = "yes" if u.active else "no"
                exts = ", ".join(u.extensions)
                rows.append([str(u.id), u.username, u.full_name, u.role, exts, active])
            if page * MAX_PER_PAGE >= result.total:
                return rows
            page += 1

    rows = _run(settings, fetch)
    table = Table("id", "username", "name", "role", "extensions", "active")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``cti db`` and ``cti user``."""
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
