"""Light constants the CLI needs without importing the simulator's heavy dependencies."""

from datetime import date

TELEPHONY = ("canonical", "asterisk", "amazon-connect")
DEFAULT_START = date(
    2026, 3, 2
)  # with --days 35 the span covers Europe/London's spring-forward day 2026-03-29
