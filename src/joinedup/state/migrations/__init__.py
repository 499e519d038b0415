"""Alembic migrations of the application state, shipped inside the package."""
