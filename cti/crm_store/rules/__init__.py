"""The CRM's rules as plain functions over plain values: no store, no network, no clock.

Services and the call log read through :mod:`cti.crm_store.repos`, decide here, and write
through the repositories again; each rule is unit-tested on its own (``tests/crm_store/rules``).
A rule that needs the time takes ``now``; one that rejects input raises a field-naming
:class:`~cti.errors.ValidationError`. Nothing here imports SQLAlchemy, aiohttp, asyncio or
sqlite3 (``tests/test_layers.py`` checks).
"""
