"""The language of the `sroi` command's messages: ``--lang``, else ``SROI_LANG``, else the
locale's ``LANG`` when it is Dutch or English, else Dutch (the product's language).

Set once per run by ``api.cli.main``; the commands render their messages (import problems,
the services' refusals, ``CliError``) with ``cli_lang()``, and print a message with ``say``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import IO

from api.i18n import LANGUAGES
from api.messages import Text, render_text

_lang: ContextVar[str] = ContextVar("cli_lang", default="nl")


def default_lang(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    for name in ("SROI_LANG", "LC_ALL", "LANG"):
        tag = env.get(name, "").strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "nl"


def set_cli_lang(lang: str) -> None:
    _lang.set(lang if lang in LANGUAGES else "nl")


def cli_lang() -> str:
    return _lang.get()


def tr(text: Text) -> str:
    """A message (api.messages) in the command's language; plain text as it is."""
    return render_text(text, cli_lang())


def say(text: Text, file: IO[str] | None = None, end: str = "\n") -> None:
    """Print a message for the user in the command's language (``msg``/``msgn``)."""
    print(tr(text), file=file, end=end, flush=file is not None)
