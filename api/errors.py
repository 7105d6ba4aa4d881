"""Errors the services raise: what went wrong, in which field, in Dutch; no HTTP status.

The web layer maps each class to its status in one place (``api/web/errors.py``); the
CLI prints the message. ``message`` is a Dutch source string (translated by ``t()``);
``params`` fill its ``{placeholders}`` after translation.
"""

from __future__ import annotations

from typing import Any

from api.messages import Message


class DomainError(ValueError):
    """A user-fixable error, shown beside ``field`` (or as JSON {message, field})."""

    def __init__(self, field: str | None, message: str | Message, **params: Any) -> None:
        # A counted message (api.messages.msgn) keeps its plural form and its count.
        self.plural: str | None = None
        if isinstance(message, Message):
            params = {**message.params, **params}
            self.plural = message.plural
            message = message.text
        self.field = field
        self.message = message
        self.params = params
        super().__init__(self.as_message().render("nl") if self.plural is not None
                         else message.format(**params) if params else message)

    def as_message(self) -> Message:
        """The error as a message (api.messages), for a boundary to say in its language."""
        return Message(self.message, self.params, self.plural)

    def render(self, lang: str) -> str:
        """The message in ``lang``, its values formatted for it (api.messages)."""
        return self.as_message().render(lang)


class Invalid(DomainError):
    """The input cannot be used as given."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the user)."""


class Forbidden(DomainError):
    """The user may not do this."""


class Conflict(DomainError):
    """The input is fine but clashes with the stored state."""


class InvalidState(Invalid):
    """What is stored cannot be used for this now (an obligation no valuation policy
    applies to): a conflict for HTTP (409), an Invalid for the services that fall back."""


class Unavailable(DomainError):
    """A service the request needs (e.g. the job queue) cannot be reached now; nothing
    was done, and the request may be repeated later."""
