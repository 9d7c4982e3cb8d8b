"""The CRM store: SQLAlchemy 2.0 async models, repositories and services.

Only this package knows SQLAlchemy models; the rest of cti calls its services.
"""
