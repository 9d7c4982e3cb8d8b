"""Pydantic schemas: the validated shapes that cross the store's boundary (services, REST)."""
