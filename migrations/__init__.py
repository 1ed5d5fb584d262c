"""Alembic environment and revisions (see env.py); run them with `tribe migrate`."""
