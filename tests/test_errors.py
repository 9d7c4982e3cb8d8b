"""One clear line for every error: each way a ``cti`` command fails, run through the real
command (:func:`cti.cli.run`), ends with one ``error:`` line on stderr that says what went
wrong and what to do, no traceback, and the exit status of its kind (docs/errors.md)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cti.cli import describe
from tests.clihelp import run_cti
from tests.needs import POSTGRES_URL

#: a PostgreSQL nobody runs: nothing listens on port 1
UNREACHABLE_PG = "postgresql+asyncpg://postgres:pg-Secret-9@127.0.0.1:1/test"
ROOT = Path(__file__).resolve().parents[1]


def one_line(err: str) -> str:
    """The only line of ``err``: the error, without a traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``CTI_*`` setting of the machine running the tests, no cti.toml nearby."""
    for name in list(os.environ):
        if name.startswith("CTI_") and not name.startswith("CTI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# ---- 2: configuration and usage ---------------------------------------------------------


def test_a_bad_value_names_the_key_and_the_variable_that_set_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_HTTP_PORT", "abc")
    status, out, err = run_cti(capsys, "config", "show")
    assert (status, out) == (2, "")
    assert one_line(err) == "config: http.port (from CTI_HTTP_PORT): not an integer"


def test_a_bad_value_in_the_file_names_the_key_and_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text("[http]\nport = 70000\n")
    status, _, err = run_cti(capsys, "--config", str(cfg), "config", "show")
    assert status == 2
    assert one_line(err) == f"config: http.port (from {cfg}): must be at most 65535"


def test_an_unknown_log_level_fails_at_config_show(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_LOG_LEVEL", "loud")
    status, _, err = run_cti(capsys, "config", "show")
    assert status == 2
    assert one_line(err).startswith("config: log_level (from CTI_LOG_LEVEL): unknown level")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://cti:my-Secret-1@db/cti", "unsupported database 'mysql'"),
        ("postgresql://cti:my-Secret-1@db/cti", "unsupported database 'postgresql'"),
        ("cti.db", "not a database URL"),
    ],
)
def test_an_unsupported_database_url_fails_in_the_config_itself(
    url: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    for command in (["config", "show"], ["db", "upgrade"]):
        status, _, err = run_cti(capsys, *command)
        assert status == 2
        line = one_line(err)
        assert line.startswith(f"config: database_url (from CTI_DATABASE_URL): {said}: use ")
        assert "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB" in line
        assert "my-Secret-1" not in line


def test_a_wrong_option_is_one_line_with_where_to_look(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run_cti(capsys, "serve", "--port", "abc")
    assert status == 2
    line = one_line(err)
    assert "'--port'" in line and line.endswith("(see cti serve --help)")


# ---- 3: the database --------------------------------------------------------------------


def test_db_upgrade_with_postgresql_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", UNREACHABLE_PG)
    status, _, err = run_cti(capsys, "db", "upgrade")
    assert status == 3
    assert one_line(err) == (
        "database postgresql+asyncpg://postgres:***@127.0.0.1:1/test is unreachable "
        "(Connect call failed ('127.0.0.1', 1)): start the database server or fix the "
        "host/port in database_url (CTI_DATABASE_URL)"
    )


def test_serve_blames_the_database_not_the_listen_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", UNREACHABLE_PG)
    status, _, err = run_cti(capsys, "serve", "--port", "0")
    assert status == 3
    line = one_line(err)
    assert line.startswith("database postgresql+asyncpg://postgres:***@127.0.0.1:1/test is ")
    assert "listen" not in line


@pytest.mark.parametrize("command", [["seed", "--contacts", "1"], ["campaign", "list"]])
def test_other_commands_on_an_unreachable_database(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", UNREACHABLE_PG)
    status, _, err = run_cti(capsys, *command)
    assert status == 3
    assert "is unreachable" in one_line(err)


def test_a_sqlite_file_in_a_missing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/no/such/cti.db")
    status, _, err = run_cti(capsys, "db", "upgrade")
    assert status == 3
    assert one_line(err).endswith(
        f"the folder {tmp_path}/no/such does not exist: create it or point database_url "
        "(CTI_DATABASE_URL) at a file in an existing folder"
    )


def test_a_file_that_is_not_a_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a database, " * 100)
    monkeypatch.setenv("CTI_DATABASE_URL", f"sqlite+aiosqlite:///{other}")
    status, _, err = run_cti(capsys, "db", "upgrade")
    assert status == 3
    assert "file is not a database" in one_line(err)


def _pg(**parts: str) -> str:
    return make_url(POSTGRES_URL).set(**parts).render_as_string(hide_password=False)  # type: ignore[arg-type]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            _pg(database="cti_no_such_db"),
            "database cti_no_such_db does not exist: create it (createdb cti_no_such_db) or "
            "fix the name in database_url (CTI_DATABASE_URL)",
        ),
        (_pg(username="cti_no_such_user"), "user cti_no_such_user may not log in ("),
    ],
)
def test_postgresql_refuses_the_database_or_the_user(
    url: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", url)
    status, _, err = run_cti(capsys, "db", "upgrade")
    assert status == 3
    assert said in one_line(err)


# ---- 4: a server cti talks to -----------------------------------------------------------


def test_listen_with_the_cti_server_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    args = ["listen", "--url", "http://127.0.0.1:1", "--user", "alice", "--password-stdin"]
    status, _, err = run_cti(capsys, *args)
    assert status == 4
    line = one_line(err)
    assert line.startswith("cannot log in at http://127.0.0.1:1 (")
    assert line.endswith("check that cti serve runs there and --url")


# ---- 5: cannot listen -------------------------------------------------------------------


def test_serve_on_a_busy_port(
    cli_db: str, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cti(capsys, "serve", "--port", str(busy_port))
    assert status == 5
    assert one_line(err) == (
        f"cannot listen on 127.0.0.1:{busy_port}: the port is in use by another program: "
        "stop it or choose another --port or http.port (CTI_HTTP_PORT)"
    )


def test_demo_on_a_busy_port(
    tmp_path: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--db", str(tmp_path / "demo.db"), "--contacts", "10", "--port", str(busy_port)]
    status, _, err = run_cti(capsys, "demo", *args)
    assert status == 5
    assert one_line(err) == (
        f"cannot listen on 127.0.0.1:{busy_port}: the port is in use by another program: "
        "stop it or choose another --port"
    )


def test_pbxsim_on_a_busy_port(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cti(capsys, "pbxsim", "--secret", "s", "--port", str(busy_port))
    assert status == 5
    assert one_line(err).startswith(f"cannot listen on 127.0.0.1:{busy_port}: the port is in use")


# ---- 6: files and folders ---------------------------------------------------------------


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    status, _, err = run_cti(capsys, "--config", str(missing), "config", "show")
    assert status == 6
    assert one_line(err) == (
        f"config file {missing}: not found: create it, or give another with --config"
    )


def test_a_config_file_that_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cti(capsys, "--config", str(tmp_path), "config", "show")
    assert status == 6
    assert one_line(err) == f"config file {tmp_path}: is a folder: give the TOML file with --config"


def test_demo_with_its_store_in_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "no" / "demo.db"
    status, _, err = run_cti(capsys, "demo", "--db", str(db), "--port", "0")
    assert status == 6
    assert one_line(err) == (
        f"--db {db}: the folder {db.parent} does not exist: create it or give another --db"
    )


def test_a_missing_numbers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "numbers.txt"
    args = ["pbxsim", "--secret", "s", "--port", "0", "--numbers", str(missing)]
    status, _, err = run_cti(capsys, *args)
    assert status == 6
    assert one_line(err) == (
        f"{missing}: cannot read the numbers file (No such file or directory): check --numbers"
    )


def test_an_output_file_in_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "openapi.json"
    status, _, err = run_cti(capsys, "api", "openapi", "--output", str(target))
    assert status == 6
    assert one_line(err) == (
        f"{target}: No such file or directory: check the path and its permissions"
    )


@pytest.mark.parametrize(
    "command", [["campaign", "load"], ["import", "contacts"]], ids=["campaign", "csv"]
)
def test_a_missing_input_file_of_the_store_commands(
    command: list[str], cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # these two name the file as invalid input (2) for now; a file error (6) also passes
    missing = tmp_path / "missing.file"
    status, _, err = run_cti(capsys, *command, str(missing))
    assert status in (2, 6)
    assert str(missing) in one_line(err)


# ---- 7: refused by the data -------------------------------------------------------------


def test_a_campaign_that_is_not_there(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cti(capsys, "campaign", "start", "nosuch")
    assert status == 7
    assert "nosuch" in one_line(err)


# ---- the traceback on demand, a bug, the real process -----------------------------------


@pytest.mark.parametrize("ask", [["--debug"], []], ids=["option", "CTI_DEBUG"])
def test_debug_shows_the_traceback_and_then_the_line(
    ask: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", UNREACHABLE_PG)
    if not ask:
        monkeypatch.setenv("CTI_DEBUG", "1")
    status, _, err = run_cti(capsys, *ask, "db", "upgrade")
    assert status == 3
    assert "Traceback" in err and "ConnectionRefusedError" in err
    assert err.splitlines()[-1].startswith("error: database postgresql+asyncpg://")


def test_an_unexpected_error_is_a_bug_and_says_how_to_see_it() -> None:
    line, status = describe(KeyError("contact_id"))
    assert status == 1
    assert line == (
        "internal error: KeyError: 'contact_id' (this is a bug; run again with --debug for "
        "the traceback and report it)"
    )


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    env |= {"CTI_DATABASE_URL": UNREACHABLE_PG, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cti", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert one_line(done.stderr).startswith("database postgresql+asyncpg://postgres:***@")
