"""The one error type of the `sroi` commands: a message meant for the user.

Its own module, so the commands import it without importing ``api.cli`` (which imports
the commands): under ``python -m api.cli`` that module exists twice, as ``__main__`` too,
and the dispatcher would not catch a ``CliError`` raised from the other copy.
"""

from __future__ import annotations

from api.messages import Text, render_text


class CliError(Exception):
    """An error with a message meant for the user (text, or a message rendered in the
    command's language, ``api.commands.lang``); exit status in ``status``."""

    def __init__(self, message: Text, status: int = 2) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status

    def render(self, lang: str) -> str:
        return render_text(self.message, lang)
