"""Alembic migrations of the training_runs table (see ml_platform.db)."""
