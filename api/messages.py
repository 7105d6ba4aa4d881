"""Messages made in Python code and shown to a user later, in the user's language.

Code that finds a problem (an importer, a service, the engine's explanations) does not know
who will read it, nor in which language: a CLI user, an API client with
``Accept-Language: en``, or a Dutch page. So it returns ``msg("Dutch text {name}", name=...)``,
a ``Message`` holding the Dutch template (the msgid, as ``t()`` takes it) and its values, and
the boundary (page, API response, CLI) renders it with ``render(lang)``. Values are
formatted for that language when rendered (dates, numbers: ``api.i18n``'s formatters), never
with ``isoformat`` or ``repr`` in the message; a value that is itself a ``Message`` (a hint
inside an error) is rendered in the same language.

A counted message is ``msgn("{n} probleem", "{n} problemen", n)``: the form is chosen
when rendered, by the language's plural rule (``api.i18n.translate_plural``), never
"probleem/problemen" or "regel(s)".

A message kept for later (an import report stored with its job) is stored by ``to_json``;
``render_tree`` renders every stored message inside a JSON tree at the boundary.

``msg`` and ``msgn`` are extraction keywords of ``api.i18n_catalogs.KEYWORDS`` (as are ``t``,
``N_`` for a plain text translated later, the ``api.errors`` classes and ``api_error`` with
their message second), so tests/web/test_translations.py fails on a message without English.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from api.i18n import _Localized, format_date, format_number, translate, translate_plural

_MSG_KEY = "msg"
_DATE_KEY = "date"
_NUMBER_KEY = "number"
_PLURAL_KEY = "plural"


@dataclass(frozen=True)
class Message:
    """A Dutch template with its values, rendered in a language at the boundary; with
    ``plural`` (the Dutch plural template) the form is chosen by the count ``params["n"]``."""

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None

    def render(self, lang: str = "nl") -> str:
        if self.plural is not None:
            count = int(self.params.get("n") or 0)
            others = {k: render_value(v, lang) for k, v in self.params.items() if k != "n"}
            return translate_plural(self.text, self.plural, count, lang, **others)
        values = {k: render_value(v, lang) for k, v in self.params.items()}
        if values:
            return translate(self.text, lang, **values)
        # A template is always a format string: "{{" in it is a literal brace.
        out = translate(self.text, lang)
        try:
            return out.format()
        except (KeyError, IndexError, ValueError):
            return out

    def __str__(self) -> str:
        return self.render("nl")

    def __hash__(self) -> int:
        # The values may be lists or dicts; the template alone is hash enough.
        return hash(self.text)

    def to_json(self) -> dict[str, Any]:
        out = {_MSG_KEY: self.text, "params": {k: _json_value(v)
                                               for k, v in self.params.items()}}
        if self.plural is not None:
            out[_PLURAL_KEY] = self.plural
        return out


def msg(text: str, **params: Any) -> Message:
    """Mark ``text`` (Dutch, with ``{name}`` placeholders) as a message to render later."""
    return Message(text, params)


def msgn(singular: str, plural: str, n: int, **params: Any) -> Message:
    """A counted message: ``msgn("{n} probleem", "{n} problemen", n)``; ``{n}`` is the count
    written as a number of the reader's language, the form is the language's for ``n``."""
    return Message(singular, {**params, "n": n}, plural)


Text = Message | str


@dataclass(frozen=True)
class Number:
    """A number shown with a fixed count of decimals (``0.853`` as ``0,853`` in Dutch)."""

    value: float | None
    decimals: int


def render_text(value: Text | None, lang: str) -> str:
    """A message in ``lang``; plain text (a value from a file, a name) as it is."""
    if value is None:
        return ""
    return value.render(lang) if isinstance(value, Message) else str(value)


def render_value(value: Any, lang: str) -> str:
    """A value inside a message, written for ``lang``."""
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, _Localized):
        # Eur, Pct, Day, Moment...: api.i18n formats them for the language.
        return value.localize(lang)
    if isinstance(value, Number):
        return format_number(value.value, value.decimals, lang)
    if isinstance(value, datetime | date):
        return format_date(value, "long", lang)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return format_number(value, lang=lang)
    if isinstance(value, Mapping) and _DATE_KEY in value and len(value) == 1:
        return format_date(value[_DATE_KEY], "long", lang)
    if isinstance(value, Mapping) and _NUMBER_KEY in value:
        return format_number(value[_NUMBER_KEY], int(value.get("decimals") or 0), lang)
    if isinstance(value, Mapping) and _MSG_KEY in value:
        return from_json(value).render(lang)
    if isinstance(value, list | tuple):
        return ", ".join(render_value(v, lang) for v in value)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, Number):
        return {_NUMBER_KEY: value.value, "decimals": value.decimals}
    if isinstance(value, datetime | date):
        return {_DATE_KEY: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def to_json(value: Text | None) -> Any:
    """A message as JSON (a dict ``render_tree`` recognises); plain text as it is."""
    return value.to_json() if isinstance(value, Message) else value


def is_message_json(value: Any) -> bool:
    return (isinstance(value, Mapping)
            and set(value) in ({_MSG_KEY, "params"}, {_MSG_KEY, "params", _PLURAL_KEY})
            and isinstance(value[_MSG_KEY], str))


def parse_stored(text: str | None) -> Text:
    """Text stored in a column that may hold a message as JSON (``dumps``): the message,
    else the text as it is (older rows, a person's words)."""
    if not text or not text.startswith("{"):
        return text or ""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return from_json(value) if is_message_json(value) else text


def dumps(message: Message) -> str:
    """A message as one JSON string, for a text column (``parse_stored`` reads it)."""
    return json.dumps(message.to_json(), ensure_ascii=False)


def from_json(value: Mapping[str, Any]) -> Message:
    plural = value.get(_PLURAL_KEY)
    return Message(str(value[_MSG_KEY]), dict(value.get("params") or {}),
                   None if plural is None else str(plural))


def render_tree(value: Any, lang: str) -> Any:
    """Every stored message inside a JSON tree (dicts, lists) rendered in ``lang``."""
    if is_message_json(value):
        return from_json(value).render(lang)
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, dict):
        return {k: render_tree(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, lang) for v in value]
    return value
