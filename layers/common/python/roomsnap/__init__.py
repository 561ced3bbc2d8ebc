"""Shared code of the Room Snapshots functions: models, data access, hashing, observability."""
