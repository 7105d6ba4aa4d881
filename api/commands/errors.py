"""The one error type of the `sroi` commands: a message meant for the user.

Its own module, so the commands import it without importing ``api.cli`` (which imports
the commands): under ``python -m api.cli`` that module exists twice, as ``__main__`` too,
and the dispatcher would not catch a ``CliError`` raised from the other copy.
"""

from __future__ import annotations


class CliError(Exception):
    """An error with a message meant for the user; exit status in ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status
