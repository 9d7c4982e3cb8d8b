"""A session that ends ends everywhere at once, open sockets included: logout closes the
sockets of that token, disabling a user or changing their password closes all of theirs,
every action over a socket is authorised as of now, and a user's sockets are bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from cti.config import AuthConfig
from cti.crm_store.services.users import UserService, hash_token
from cti.pbxsim.calls import InboundCall
from cti.screenpop.clients import CLOSE_SESSION_ENDED, CLOSE_TOO_MANY
from cti.screenpop.http import HUB
from tests.screenpop.conftest import IVAN, Env, MakeEnv, Ws


async def closed_with(ws: Ws) -> tuple[int | None, str]:
    """Read to the end of ``ws``: the close code and the ``closing`` frame's message."""
    message = ""
    async with asyncio.timeout(5):
        while True:
            msg = await ws.ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                data: dict[str, Any] = msg.json()
                if data["type"] == "closing":
                    message = data["message"]
                continue
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.ws.close_code, message


async def second_token(env: Env, username: str) -> str:
    user = await UserService(env.store).by_username(username)
    assert user is not None
    token = (await UserService(env.store).issue_token(user.id)).token
    env.tokens[f"{username}-2"] = token
    return token


def headers(env: Env, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.tokens[username]}"}


async def test_logout_closes_the_sockets_of_that_token_and_no_other(make_env: MakeEnv) -> None:
    env = await make_env()
    await second_token(env, "alice")
    desk, phone = await env.connect("alice"), await env.connect("alice-2")
    resp = await env.client.post("/api/logout", headers=headers(env, "alice"))
    assert resp.status == 204
    assert await closed_with(desk) == (CLOSE_SESSION_ENDED, "session ended: logged out")
    # the other device's session goes on, and still gets its pops
    await env.sim.place_call(InboundCall(caller=IVAN, to="101"))
    assert (await phone.until("call.ringing"))["call"]["from"] == IVAN
    assert (await env.client.get("/api/me", headers=headers(env, "alice"))).status == 401


async def test_disabling_a_user_or_changing_the_password_closes_all_their_sockets(
    make_env: MakeEnv,
) -> None:
    env = await make_env()
    await second_token(env, "alice")
    sockets = [await env.connect("alice"), await env.connect("alice-2")]
    bob = await env.connect("bob")
    alice = await UserService(env.store).by_username("alice")
    assert alice is not None
    resp = await env.client.patch(
        f"/api/users/{alice.id}", json={"active": False}, headers=headers(env, "sam")
    )
    assert resp.status == 200
    for ws in sockets:
        assert await closed_with(ws) == (CLOSE_SESSION_ENDED, "session ended: account disabled")
    bob_user = await UserService(env.store).by_username("bob")
    assert bob_user is not None
    resp = await env.client.patch(
        f"/api/users/{bob_user.id}",
        json={"password": "a-new-password-1"},
        headers=headers(env, "sam"),
    )
    assert resp.status == 200
    assert await closed_with(bob) == (CLOSE_SESSION_ENDED, "session ended: password changed")


async def test_an_action_on_a_socket_is_authorised_as_of_now(make_env: MakeEnv) -> None:
    """Revoked behind this daemon's back (another daemon, a direct store change): the next
    action over the socket finds out and closes it, instead of acting as the old user."""
    env = await make_env()
    ws = await env.connect("alice")
    await UserService(env.store).revoke_token(env.tokens["alice"])
    await ws.ws.send_json({"type": "dial", "number": "+74951234567"})
    code, message = await closed_with(ws)
    assert code == CLOSE_SESSION_ENDED and "no longer valid" in message
    assert env.app[HUB].clients == []


async def test_the_sweep_closes_sockets_of_sessions_ended_elsewhere(make_env: MakeEnv) -> None:
    env = await make_env(auth=AuthConfig(session_sweep_seconds=0.05))
    ws = await env.connect("alice")
    bob = await env.connect("bob")
    await UserService(env.store).revoke_token(env.tokens["alice"])
    assert (await closed_with(ws))[0] == CLOSE_SESSION_ENDED
    assert [c.operator.username for c in env.app[HUB].clients] == ["bob"]
    await bob.barrier()  # bob's session is untouched


async def test_one_socket_too_many_closes_the_users_oldest(make_env: MakeEnv) -> None:
    env = await make_env(auth=AuthConfig(max_sockets_per_user=2))
    first, second = await env.connect("alice"), await env.connect("alice")
    third = await env.connect("alice")
    code, message = await closed_with(first)
    assert code == CLOSE_TOO_MANY and "too many connections" in message
    mine = [c for c in env.app[HUB].clients if c.operator.username == "alice"]
    assert len(mine) == 2
    assert {c.operator.token_hash for c in mine} == {hash_token(env.tokens["alice"])}
    for ws in (second, third):
        await ws.barrier()  # both still served
