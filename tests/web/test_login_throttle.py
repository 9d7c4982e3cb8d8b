"""Failed-login throttle: the rules on a fake clock, then through the real login endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.config import load_settings
from cti.errors import ConfigError
from cti.web.app import create_app
from cti.web.keys import LOGIN_THROTTLE
from cti.web.login_throttle import LoginThrottle, TooManyLoginsError
from tests.web.conftest import PASSWORD, Client, Login, MakeUser


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_username_is_locked_from_one_address_until_its_failures_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        throttle.check("olga", "10.0.0.1")
        throttle.failed("Olga", "10.0.0.1")  # the same name, however it is typed
        clock.now += 10
    with pytest.raises(TooManyLoginsError) as refused:
        throttle.check("olga", "10.0.0.1")
    assert refused.value.retry_after == 30  # the first failure (t=1000) expires at t=1060
    assert refused.value.status == 429
    assert refused.value.http_headers() == {"Retry-After": "30"}
    throttle.check("olga", "10.0.0.2")  # olga at her own desk
    throttle.check("ivan", "10.0.0.1")  # another user from there
    clock.now += 30
    throttle.check("olga", "10.0.0.1")  # one failure aged out: one more try


def test_success_clears_the_failures_of_that_username() -> None:
    throttle = LoginThrottle(per_user=2, per_address=100, window=60, clock=Clock())
    throttle.failed("olga", "10.0.0.1")
    throttle.succeeded("olga", "10.0.0.1")
    throttle.failed("olga", "10.0.0.1")
    throttle.check("olga", "10.0.0.1")


def test_one_address_trying_many_usernames_is_locked() -> None:
    throttle = LoginThrottle(per_user=5, per_address=4, window=60, clock=Clock())
    for n in range(4):
        throttle.failed(f"user{n}", "10.0.0.9")
    with pytest.raises(TooManyLoginsError):
        throttle.check("someone-else", "10.0.0.9")
    throttle.check("someone-else", "10.0.0.1")


def test_memory_stays_bounded_under_a_flood_of_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=5, per_address=10**9, window=60, clock=clock)
    for n in range(30_000):
        throttle.failed(f"user{n}", f"10.{n % 200}.0.1")
        clock.now += 0.01  # 300 s in all: the oldest names age out
    assert len(throttle) < 12_000


async def test_the_login_endpoint_refuses_guessing_with_429(
    client: Client, operator: Login, make_user: MakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    throttle = client.app[LOGIN_THROTTLE]
    assert throttle.per_user == 5
    for _ in range(5):
        resp = await client.post("/api/login", json={"username": "olga", "password": "guess-1"})
        assert resp.status == 401
    assert "5 failed attempts for 'olga'" in caplog.text
    assert "guess-1" not in caplog.text
    refused = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert refused.status == 429  # even the right password: no check while locked
    body = await refused.json()
    assert body["error_id"] == "too-many-logins"
    assert int(refused.headers["Retry-After"]) == body["details"]["retry_after"] > 800
    await make_user("ivan")
    other = await client.post("/api/login", json={"username": "ivan", "password": PASSWORD})
    assert other.status == 200


async def test_a_good_login_resets_the_count(client: Client, operator: Login) -> None:
    for _ in range(4):
        await client.post("/api/login", json={"username": "olga", "password": "nope-nope"})
    ok = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert ok.status == 200
    for _ in range(4):
        resp = await client.post("/api/login", json={"username": "olga", "password": "nope-nope"})
        assert resp.status == 401


def test_limits_come_from_the_auth_table_and_bad_ones_are_named(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[auth]\nlogin_failures = 2\nlogin_window_minutes = 1.5\n")
    throttle = create_app(load_settings(good, environ={}))[LOGIN_THROTTLE]
    assert (throttle.per_user, throttle.per_address, throttle.window) == (2, 50, 90.0)
    bad = tmp_path / "bad.toml"
    bad.write_text("[auth]\nlogin_failures = 0\n")
    with pytest.raises(ConfigError, match=r"auth\.login_failures"):
        load_settings(bad, environ={})
