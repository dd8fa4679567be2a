"""Stand-in for dbt's `run_started_at` (the invocation's start, a datetime) in sqlfluff's Jinja
templater, so `run_started_at.strftime(...)` renders a timestamp literal for linting."""

from datetime import UTC, datetime

LINT_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def strftime(fmt):
    return LINT_TIME.strftime(fmt)
