"""``/api/contacts``, ``/api/companies`` and the caller-ID lookup (thin over their services)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from pydantic import Field

from cti.crm_store.repos.lookup import CallerLookup
from cti.crm_store.schemas.common import InModel, Page, PageParams
from cti.crm_store.schemas.contacts import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
)
from cti.crm_store.schemas.lookup import Match
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("contacts")
LOOKUP = web.AppKey("caller_lookup", CallerLookup)
_ID = r"{id:\d+}"


class ContactQuery(PageParams):
    q: str | None = Field(default=None, max_length=200, description="first/last name prefix")
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320, description="e-mail prefix")


class CompanyQuery(PageParams):
    q: str | None = Field(default=None, max_length=200, description="name prefix")
    phone: str | None = Field(default=None, max_length=64)


class LookupQuery(InModel):
    phone: str = Field(min_length=1, max_length=64)


def attach_lookup(app: web.Application) -> None:
    """Give the app one caller lookup over its store (it keeps a read-only connection)."""
    app[LOOKUP] = CallerLookup(app[STORE])


async def lookup_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    if LOOKUP in app:
        app[LOOKUP].close()


def _contacts(request: web.Request) -> ContactService:
    return ContactService(request.app[STORE])


def _companies(request: web.Request) -> CompanyService:
    return CompanyService(request.app[STORE])


def _page(query: PageParams) -> PageParams:
    return PageParams(page=query.page, per_page=query.per_page)


@ROUTES.get(
    "/api/contacts",
    summary="Search contacts by name, phone, e-mail",
    query=ContactQuery,
    response=Page[ContactOut],
    perm=("contacts", "read"),
)
async def list_contacts(request: web.Request) -> web.Response:
    query = read_query(request, ContactQuery)
    page = await _contacts(request).search(
        q=query.q, phone=query.phone, email=query.email, params=_page(query)
    )
    return json_model(page)


@ROUTES.get(
    "/api/contacts/lookup",
    summary="Caller-ID lookup: who owns this number (exact / partial / multiple / none)",
    query=LookupQuery,
    response=Match,
    perm=("lookup", "read"),
)
async def lookup(request: web.Request) -> web.Response:
    query = read_query(request, LookupQuery)
    return json_model(await request.app[LOOKUP].lookup(query.phone))


@ROUTES.post(
    "/api/contacts",
    summary="Create a contact",
    body=ContactIn,
    response=ContactOut,
    status=201,
    perm=("contacts", "create"),
)
async def create_contact(request: web.Request) -> web.Response:
    data = await read_body(request, ContactIn)
    return json_model(await _contacts(request).create(data), status=201)


@ROUTES.get(
    f"/api/contacts/{_ID}", summary="One contact", response=ContactOut, perm=("contacts", "read")
)
async def get_contact(request: web.Request) -> web.Response:
    return json_model(await _contacts(request).get(path_id(request)))


@ROUTES.patch(
    f"/api/contacts/{_ID}",
    summary="Change a contact",
    body=ContactPatch,
    response=ContactOut,
    perm=("contacts", "edit"),
)
async def update_contact(request: web.Request) -> web.Response:
    data = await read_body(request, ContactPatch)
    return json_model(await _contacts(request).update(path_id(request), data))


@ROUTES.delete(f"/api/contacts/{_ID}", summary="Delete a contact", perm=("contacts", "delete"))
async def delete_contact(request: web.Request) -> web.Response:
    await _contacts(request).delete(path_id(request))
    return no_content()


@ROUTES.get(
    "/api/companies",
    summary="Search companies by name, phone",
    query=CompanyQuery,
    response=Page[CompanyOut],
    perm=("companies", "read"),
)
async def list_companies(request: web.Request) -> web.Response:
    query = read_query(request, CompanyQuery)
    page = await _companies(request).search(q=query.q, phone=query.phone, params=_page(query))
    return json_model(page)


@ROUTES.post(
    "/api/companies",
    summary="Create a company",
    body=CompanyIn,
    response=CompanyOut,
    status=201,
    perm=("companies", "create"),
)
async def create_company(request: web.Request) -> web.Response:
    data = await read_body(request, CompanyIn)
    return json_model(await _companies(request).create(data), status=201)


@ROUTES.get(
    f"/api/companies/{_ID}", summary="One company", response=CompanyOut, perm=("companies", "read")
)
async def get_company(request: web.Request) -> web.Response:
    return json_model(await _companies(request).get(path_id(request)))


@ROUTES.patch(
    f"/api/companies/{_ID}",
    summary="Change a company",
    body=CompanyPatch,
    response=CompanyOut,
    perm=("companies", "edit"),
)
async def update_company(request: web.Request) -> web.Response:
    data = await read_body(request, CompanyPatch)
    return json_model(await _companies(request).update(path_id(request), data))


@ROUTES.delete(f"/api/companies/{_ID}", summary="Delete a company", perm=("companies", "delete"))
async def delete_company(request: web.Request) -> web.Response:
    await _companies(request).delete(path_id(request))
    return no_content()
