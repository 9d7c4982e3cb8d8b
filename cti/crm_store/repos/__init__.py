"""Repositories: every SELECT, INSERT, UPDATE and DELETE of the store lives here.

Each takes a :class:`~cti.crm_store.store.Store`, opens its own short sessions and returns
pydantic ``*Out`` objects or plain values, so no ORM object leaves this package. Where a
write depends on the row as it is, the repository reads it, hands a plain snapshot to the
caller's ``decide`` function (a rule, :mod:`cti.crm_store.rules`) and writes the answer, in
one transaction. The measured fast paths (caller lookup and pop card reads on the event
loop, the importer's SQLite writer) are here too, behind the same interfaces.
"""
