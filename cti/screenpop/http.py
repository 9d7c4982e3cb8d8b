"""Thin handlers: the ``/ws`` WebSocket, click-to-dial, and the operator page at ``/``.

WebSocket auth: the bearer token from ``POST /api/login``, as ``Authorization: Bearer``, or
(for browsers, which cannot set headers) the subprotocol pair ``Sec-WebSocket-Protocol:
cti.bearer, <token>`` (preferred: it never lands in a URL); ``?token=`` is accepted on this
handshake only (the access log masks it), never on REST routes. A WebSocket upgrade without a
valid token is accepted and closed with code 4401 (a browser can see that code, it cannot see
an HTTP status); a plain HTTP request gets 401. Every action over the socket (dial,
subscribe) checks the token again as of now, and a session that ends (logout, user disabled,
password changed) closes its sockets with code 4401 and a ``closing`` frame saying why.
The socket is the ``pops`` resource of the permission table, checked at the handshake (a
role without it is closed with 4403) and again, as of now, for each action: subscribing to
every call or a queue needs ``all`` of it, dialling is ``dial`` as for ``POST /api/dial``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from cti.crm_store.rules.permissions import Perm, Scope
from cti.crm_store.services.users import hash_token
from cti.errors import AuthError, CtiError, ForbiddenError
from cti.screenpop.clients import CLOSE_SESSION_ENDED, Client, Operator
from cti.screenpop.hub import Hub
from cti.screenpop.scripts import ScriptBook
from cti.web.access import grant_for, grant_of, guard
from cti.web.auth import USERS, AuthUser, authenticate_request, token_from
from cti.web.jsonbody import depth_message, too_deep
from cti.web.routing import RouteTable, declare, read_body

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
BEARER_PROTOCOL = "cti.bearer"
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
POPS: Perm = ("pops", "read")
DIAL: Perm = ("dial", "create")
HEARTBEAT = 20.0  # seconds between pings; a client that misses a pong is closed
MAX_MESSAGE = 16 * 1024

HUB = web.AppKey("screenpop_hub", Hub)
#: the call scripts the pops choose from (the dialer adds each campaign's stored one)
SCRIPTS = web.AppKey("screenpop_scripts", ScriptBook)
ROUTES = RouteTable("screenpop")


# -- client → server messages ------------------------------------------------------------------
class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    #: echoed back in the reply so a client can match answers to requests
    ref: str | int | None = None


class PingMsg(_Msg):
    type: Literal["ping"]


class SubscribeMsg(_Msg):
    """Supervisors: ``scope`` all calls, or one ``queue``."""

    type: Literal["subscribe", "unsubscribe"]
    scope: Literal["all", "queue"]
    queue: str | None = Field(default=None, min_length=1, max_length=64)


class DialIn(_Msg):
    """Click-to-dial: ring my ``extension`` (default: my first), then dial ``number``."""

    number: str = Field(min_length=3, max_length=40)
    extension: str | None = Field(default=None, max_length=32)
    pbx: str | None = Field(default=None, max_length=64)


class DialMsg(DialIn):
    type: Literal["dial"]


class DialOut(BaseModel):
    action_id: str
    pbx: str
    extension: str
    number: str


ClientMessage = Annotated[PingMsg | SubscribeMsg | DialMsg, Field(discriminator="type")]
_MESSAGE = TypeAdapter(ClientMessage)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds")


def error_message(error_id: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "type": "error",
        "call_id": None,
        "ts": _now(),
        "error_id": error_id,
        "message": message,
        "details": details,
    }


def parse_message(raw: str) -> ClientMessage:
    """A client message, validated; raises :class:`ValueError` with a readable reason."""
    if too_deep(raw.encode()):
        raise ValueError(depth_message())
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("a message must be a JSON object with a 'type'")
    try:
        return _MESSAGE.validate_python(data)
    except PydanticValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "message"
        raise ValueError(f"{where}: {err['msg']}") from None


# -- handlers ----------------------------------------------------------------------------------
def _protocol_token(request: web.Request) -> str | None:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if BEARER_PROTOCOL in offered:
        i = offered.index(BEARER_PROTOCOL)
        if i + 1 < len(offered) and offered[i + 1]:
            return offered[i + 1]
    return None


def _ws_token(request: web.Request) -> str | None:
    """The handshake's token: header, subprotocol, or (this handshake only) ``?token=``."""
    return token_from(request) or _protocol_token(request) or request.query.get("token")


async def _who(request: web.Request, token: str | None) -> AuthUser | None:
    if token is None:
        return None
    try:
        return AuthUser.from_user(await request.app[USERS].verify_token(token))
    except AuthError:
        return None


@declare(POPS)
async def ws_handler(request: web.Request) -> web.StreamResponse:
    """The operator's live feed (see the module doc for auth and permission)."""
    # no compression: the hub writes ready-made frames straight to the transport
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT,
        max_msg_size=MAX_MESSAGE,
        timeout=2.0,
        protocols=(BEARER_PROTOCOL,),
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        await authenticate_request(request)  # 401 without a token
        raise web.HTTPBadRequest(text="expected a WebSocket upgrade")
    token = _ws_token(request)
    user = await _who(request, token)
    await ws.prepare(request)
    if user is None or token is None:
        await ws.send_json(error_message("unauthorized", "missing or invalid token"))
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")
        return ws
    try:
        grant_for(user, POPS)
    except ForbiddenError as exc:
        await ws.send_json(error_message(exc.error_id, exc.message))
        await ws.close(code=CLOSE_FORBIDDEN, message=b"forbidden")
        return ws
    transport = request.transport
    if transport is None:  # the peer left during the handshake
        return ws
    hub = request.app[HUB]
    operator = Operator(user.id, user.username, user.role, user.extensions, hash_token(token))
    client = hub.connect(operator, ws, transport)
    try:
        async for msg in ws:
            if client.closed:
                break
            if msg.type == WSMsgType.TEXT:
                await _on_message(request, hub, client, token, msg.data)
            elif msg.type == WSMsgType.BINARY:
                hub.send([client], error_message("bad-message", "binary frames are not accepted"))
    finally:
        hub.disconnect(client)
    return ws


async def _on_message(request: web.Request, hub: Hub, client: Client, token: str, raw: str) -> None:
    try:
        msg = parse_message(raw)
    except ValueError as exc:
        hub.send([client], error_message("bad-message", str(exc)))
        return
    ref = {"ref": msg.ref} if msg.ref is not None else {}
    if isinstance(msg, PingMsg):
        hub.send([client], {"type": "pong", "call_id": None, "ts": _now(), **ref})
        return
    # an action: authorised as of now (the session may have ended since the handshake, the
    # user's role or extensions may have changed)
    user = await _who(request, token)
    if user is None:
        hub.close_client(client, CLOSE_SESSION_ENDED, "session ended: token no longer valid")
        return
    try:
        grant = grant_for(user, POPS if isinstance(msg, SubscribeMsg) else DIAL)
    except ForbiddenError as exc:
        hub.send([client], error_message(exc.error_id, exc.message, **ref))
        return
    if isinstance(msg, SubscribeMsg):
        if grant.scope is not Scope.ALL:
            hub.send([client], error_message("forbidden", "only supervisors subscribe", **ref))
            return
        if msg.scope == "queue" and msg.queue is None:
            hub.send([client], error_message("bad-message", "queue: required", **ref))
            return
        queue = msg.queue if msg.scope == "queue" else None
        if msg.type == "subscribe":
            hub.send([client], {"type": "subscribed", "call_id": None, "ts": _now(), **ref})
            hub.subscribe(client, all_calls=msg.scope == "all", queue=queue)
        else:
            hub.unsubscribe(client, all_calls=msg.scope == "all", queue=queue)
            hub.send([client], {"type": "unsubscribed", "call_id": None, "ts": _now(), **ref})
    else:
        try:
            result = await _dial(request, user, msg)
        except CtiError as exc:
            hub.send([client], error_message(exc.error_id, exc.message, **ref))
            return
        hub.send([client], {"type": "dial.started", "call_id": None, "ts": _now(), **result, **ref})


async def _dial(request: web.Request, user: AuthUser, body: DialIn) -> dict[str, str]:
    from cti.screenpop.service import DIALER

    dialer = request.app.get(DIALER)
    if dialer is None:
        raise ForbiddenError("click-to-dial is not available here", details={})
    return await dialer.dial(
        extensions=user.extensions, number=body.number, extension=body.extension, pbx=body.pbx
    )


@ROUTES.post(
    "/api/dial",
    summary="Click-to-dial: ring my phone, then dial the number",
    body=DialIn,
    response=DialOut,
    errors=(403, 422, 503),
    perm=DIAL,
)
async def dial_handler(request: web.Request) -> web.Response:
    body = await read_body(request, DialIn)
    return web.json_response(await _dial(request, grant_of(request).user, body))


@guard(("pages", "read"))
async def index_handler(request: web.Request) -> web.FileResponse:
    """The operator page (static; its data comes through the API and ``/ws``)."""
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@guard(("pages", "read"))
async def favicon_handler(request: web.Request) -> web.FileResponse:
    """The page's icon where browsers and bookmarks look for it without reading the page."""
    return web.FileResponse(
        STATIC_DIR / "icon.svg",
        headers={"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"},
    )
