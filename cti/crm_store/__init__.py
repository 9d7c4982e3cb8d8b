"""The CRM store, in layers whose arrows point one way (``docs/development.md``).

``models/`` + ``migrations/`` + ``db.py``/``store.py``/``migrate.py``: the schema.
``repos/``: all SQL. ``rules/``: the decisions, pure. ``services/``: read, decide, write.
``importers/``: files into the store. Only this package imports SQLAlchemy; the rest of
cti calls its services and repositories and gets pydantic objects or plain values back.
"""
