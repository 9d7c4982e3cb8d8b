"""Failed-login throttle: the policy on a fake clock, then through the real login endpoint
with parallel and hostile clients (guessing, spraying, a distributed guess, a login flood)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from argon2 import PasswordHasher

from cti.config import AuthConfig, Settings, load_settings
from cti.crm_store.store import Store
from cti.errors import ConfigError
from cti.web.app import create_app
from cti.web.keys import HASH_GATE, LOGIN_THROTTLE, TRUSTED_PROXIES
from cti.web.login_throttle import (
    LoginThrottle,
    TooManyLoginsError,
    TrustedProxies,
    client_address,
)
from tests.web.conftest import PASSWORD, Client, Login, MakeUser


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, user: str, address: str, device: str | None = None) -> None:
    throttle.begin(user, address, device)  # taken before the (wrong) password is checked


def test_a_username_is_locked_from_one_address_until_its_failures_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=3, window=60, clock=clock)
    for _ in range(3):
        fail(throttle, "Olga", "10.0.0.1")  # the same name, however it is typed
        clock.now += 10
    with pytest.raises(TooManyLoginsError) as refused:
        throttle.begin("olga", "10.0.0.1")
    assert refused.value.retry_after == 30  # the first attempt (t=1000) expires at t=1060
    assert refused.value.http_headers() == {"Retry-After": "30"}
    throttle.begin("olga", "10.0.0.2")  # olga at her own desk
    throttle.begin("ivan", "10.0.0.1")  # another user from there
    clock.now += 30
    throttle.begin("olga", "10.0.0.1")  # one attempt aged out: one more try


def test_a_success_gives_its_slot_back_and_clears_the_users_failures_there() -> None:
    throttle = LoginThrottle(per_user=2, window=60, clock=Clock())
    fail(throttle, "olga", "10.0.0.1")
    throttle.succeeded(throttle.begin("olga", "10.0.0.1"))
    fail(throttle, "olga", "10.0.0.1")
    fail(throttle, "olga", "10.0.0.1")
    with pytest.raises(TooManyLoginsError):
        throttle.begin("olga", "10.0.0.1")


def test_spraying_many_usernames_from_one_address_is_locked() -> None:
    throttle = LoginThrottle(per_user=5, per_address=4, window=60, clock=Clock())
    for n in range(4):
        fail(throttle, f"user{n}", "10.0.0.9")
    with pytest.raises(TooManyLoginsError):
        throttle.begin("someone-else", "10.0.0.9")
    throttle.begin("someone-else", "10.0.0.1")


def test_a_known_device_gets_in_while_its_address_and_account_are_under_attack() -> None:
    throttle = LoginThrottle(per_user=3, per_address=4, per_account=5, per_device=2, window=60)
    for n in range(4):  # the office address sprayed …
        fail(throttle, f"user{n}", "10.0.0.9")
    for n in range(5):  # … and olga guessed from everywhere
        fail(throttle, "olga", f"192.0.2.{n}")
    with pytest.raises(TooManyLoginsError):
        throttle.begin("olga", "10.0.0.9")  # a browser the account never saw
    throttle.succeeded(throttle.begin("olga", "10.0.0.9", "her-desk"))  # her own desk
    fail(throttle, "olga", "10.0.0.9", "her-desk")
    fail(throttle, "olga", "10.0.0.9", "her-desk")
    with pytest.raises(TooManyLoginsError):  # her device is limited on its own
        throttle.begin("olga", "10.0.0.9", "her-desk")


def test_memory_stays_bounded_under_a_flood_of_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        per_user=5, per_address=10**9, per_account=10**9, window=60, clock=clock
    )
    for n in range(30_000):
        fail(throttle, f"user{n}", f"10.{n % 200}.0.1")
        clock.now += 0.01  # 300 s in all: the oldest names age out
    assert len(throttle) < 25_000


def test_the_client_address_comes_from_x_forwarded_for_of_trusted_proxies_only() -> None:
    proxies = TrustedProxies(("10.0.0.0/8", "::1"))
    assert client_address("192.0.2.7", "203.0.113.5", proxies) == "192.0.2.7"  # not a proxy
    assert client_address("10.0.0.2", "203.0.113.5", proxies) == "203.0.113.5"
    # a client writing its own X-Forwarded-For is not believed: the right-most untrusted hop
    assert client_address("10.0.0.2", "1.2.3.4, 203.0.113.5, 10.0.0.3", proxies) == "203.0.113.5"
    assert client_address("10.0.0.2", "junk", proxies) == "10.0.0.2"
    assert client_address("::1", "2001:db8::5", proxies) == "2001:db8::5"
    assert client_address(None, None, TrustedProxies()) == "unknown"


async def test_parallel_wrong_passwords_cannot_slip_past_the_limit(
    client: Client, operator: Login
) -> None:
    """40 at once (the check used to come before the hash and the count after it)."""
    tries = [
        client.post("/api/login", json={"username": "olga", "password": f"guess-{i}"})
        for i in range(40)
    ]
    statuses = sorted(r.status for r in await asyncio.gather(*tries))
    assert statuses.count(401) == 5 and statuses.count(429) == 35


async def test_spraying_usernames_in_parallel_is_locked_per_address(client: Client) -> None:
    tries = [
        client.post("/api/login", json={"username": f"user{i}", "password": "guess"})
        for i in range(70)
    ]
    statuses = [r.status for r in await asyncio.gather(*tries)]
    assert statuses.count(429) == 20  # past 50 from one address: refused unhashed
    # the 50 let through: checked (401) or, past the hash gate's waiting room, 503
    assert statuses.count(401) + statuses.count(503) == 50 and statuses.count(401) >= 34


async def test_the_login_endpoint_refuses_guessing_with_429(
    client: Client, operator: Login, make_user: MakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        resp = await client.post("/api/login", json={"username": "olga", "password": "guess-1"})
        assert resp.status == 401
    assert "5 attempts (for 'olga' from 127.0.0.1)" in caplog.text
    assert "guess-1" not in caplog.text
    refused = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert refused.status == 429  # even the right password: no check while locked
    body = await refused.json()
    assert body["error_id"] == "too-many-logins"
    assert int(refused.headers["Retry-After"]) == body["details"]["retry_after"] > 800
    await make_user("ivan")
    other = await client.post("/api/login", json={"username": "ivan", "password": PASSWORD})
    assert other.status == 200


async def test_a_device_that_logged_in_before_is_not_locked_out_by_an_attacker(
    client: Client, operator: Login
) -> None:
    ok = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    device = (await ok.json())["device"]
    for _ in range(5):  # someone guesses olga's password from the same (office) address
        await client.post("/api/login", json={"username": "olga", "password": "nope-nope"})
    locked = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert locked.status == 429
    desk = await client.post(
        "/api/login", json={"username": "olga", "password": PASSWORD, "device": device}
    )
    assert desk.status == 200 and (await desk.json())["device"] == device
    fake = await client.post(
        "/api/login",
        json={"username": "olga", "password": PASSWORD, "device": "not-a-real-device-token"},
    )
    assert fake.status == 429  # an unknown device counts as no device


async def test_a_flood_of_logins_is_bounded_by_the_hash_gate(
    sqlite_store: Store, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    """Few password checks at once (64 MiB each in production); past the waiting room,
    503 at once: memory and the loop's threads stay free."""
    slow = PasswordHasher(time_cost=3, memory_cost=4096, parallelism=1)
    settings = Settings(auth=AuthConfig(max_concurrent_logins=1, max_waiting_logins=3))
    app = create_app(settings, store=sqlite_store, password_hasher=slow)
    client = await aiohttp_client(app)
    tries = [
        client.post("/api/login", json={"username": f"u{i}", "password": "x-x-x-x"})
        for i in range(12)
    ]
    responses = await asyncio.gather(*tries)
    statuses = [r.status for r in responses]
    busy = [r for r in responses if r.status == 503]
    assert busy and all(r.headers["Retry-After"] == "1" for r in busy)
    assert statuses.count(401) >= 4  # one running + three waiting got their answer
    gate = app[HASH_GATE]
    assert (gate.running, gate.waiting) == (0, 0)


def test_limits_and_proxies_come_from_the_config_and_bad_ones_are_named(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        "[auth]\nlogin_failures = 2\nlogin_window_minutes = 1.5\nmax_concurrent_logins = 3\n"
        '[http]\ntrusted_proxies = ["10.1.0.0/16"]\n'
    )
    app = create_app(load_settings(good, environ={}))
    throttle = app[LOGIN_THROTTLE]
    assert (throttle.per_user, throttle.per_address, throttle.window) == (2, 50, 90.0)
    assert app[HASH_GATE].concurrent == 3
    assert app[TRUSTED_PROXIES].contains("10.1.2.3")
    bad = tmp_path / "bad.toml"
    bad.write_text("[auth]\nlogin_failures = 0\n")
    with pytest.raises(ConfigError, match=r"auth\.login_failures"):
        load_settings(bad, environ={})
    proxy = tmp_path / "proxy.toml"
    proxy.write_text('[http]\ntrusted_proxies = ["10.1.0.0/16", "nope"]\n')
    with pytest.raises(ConfigError, match=r"http\.trusted_proxies"):
        load_settings(proxy, environ={})
