"""Exceptions whose message is meant for the user: the CLI prints them as one line, no traceback."""


class UserError(Exception):
    """A problem the user can fix (bad arguments, missing or unreadable input)."""


class ConfigError(UserError):
    """Missing or invalid configuration (keys, paths, settings)."""
