"""The arrows point one way: read every module's imports (as written, without running it).

* Only ``cti.crm_store`` imports SQLAlchemy; inside it, only the schema layer (models,
  migrations, engine, store, migrate), the repositories and ``errors.py`` do.
* The rules (``cti.crm_store.rules``, ``cti.screenpop.routing``) do no I/O: neither they nor
  any cti module they import use SQLAlchemy, aiohttp, asyncio, sqlite3 or a database driver.
* Lower layers never import higher ones: models import no repository, repositories no
  service, the store nothing of the features built on it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

CTI = Path(__file__).resolve().parents[1] / "cti"
IO = ("sqlalchemy", "aiohttp", "asyncio", "sqlite3", "asyncpg", "aiosqlite", "socket")
#: the store's parts that may speak SQL
SQL_LAYERS = (
    "cti.crm_store.models",
    "cti.crm_store.migrations",
    "cti.crm_store.repos",
    "cti.crm_store.db",
    "cti.crm_store.store",
    "cti.crm_store.migrate",
    "cti.crm_store.errors",
)
PURE = ("cti.crm_store.rules", "cti.screenpop.routing")


def module_name(path: Path) -> str:
    parts = path.relative_to(CTI.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CTI.rglob("*.py"))}


def imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports, at any depth of its code (``from a import b``: ``a.b``
    when that is a module of cti, else ``a``)."""
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in MODULES else node.module


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def importing(packages: tuple[str, ...]) -> dict[str, list[str]]:
    """Module → the imports of it that fall within ``packages``."""
    found = {name: sorted(i for i in imports(name) if within(i, packages)) for name in MODULES}
    return {name: hits for name, hits in found.items() if hits}


def closure(name: str) -> set[str]:
    """``name`` and every cti module it imports, directly or not."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in MODULES:
            continue
        seen.add(current)
        todo.extend(i for i in imports(current) if i.startswith("cti"))
    return seen


def test_only_the_store_imports_sqlalchemy() -> None:
    outside = {
        m: i for m, i in importing(("sqlalchemy",)).items() if not within(m, ("cti.crm_store",))
    }
    assert outside == {}


def test_inside_the_store_only_the_schema_layer_and_repositories_speak_sql() -> None:
    speaking = set(importing(("sqlalchemy",)))
    assert speaking, "the scan found nothing: is it reading the right folder?"
    assert {m for m in speaking if not within(m, SQL_LAYERS)} == set()


@pytest.mark.parametrize("name", [m for m in MODULES if within(m, PURE)])
def test_rules_do_no_io(name: str) -> None:
    doing_io = {m: [i for i in imports(m) if within(i, IO)] for m in closure(name)}
    assert {m: hits for m, hits in doing_io.items() if hits} == {}


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("cti.crm_store.rules", ("cti.crm_store.repos", "cti.crm_store.services")),
        ("cti.crm_store.models", ("cti.crm_store.repos", "cti.crm_store.services")),
        ("cti.crm_store.repos", ("cti.crm_store.services", "cti.crm_store.importers")),
        ("cti.crm_store.schemas", ("cti.crm_store.repos", "cti.crm_store.services")),
        (
            "cti.crm_store",
            ("cti.calllog", "cti.screenpop", "cti.web", "cti.demo", "cti.daemon", "cti.ami"),
        ),
        ("cti.calllog", ("cti.screenpop", "cti.demo", "cti.daemon")),
        ("cti.screenpop.routing", ("cti.screenpop.hub", "cti.crm_store")),
    ],
)
def test_lower_layers_never_import_higher_ones(layer: str, above: tuple[str, ...]) -> None:
    upward = {m: i for m, i in importing(above).items() if within(m, (layer,))}
    assert upward == {}
