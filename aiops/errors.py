"""Errors every command may raise."""


class UsageError(Exception):
    """Bad usage or unreadable input: the command exits 2 with the message as its one line."""
