"""`sroi` command line. Each command family lives in ``api/commands/<name>.py``
and exposes ``register(subparsers)``; handlers return an exit status.

Errors a user can fix are printed as one clear line on stderr with a non-zero
exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from api.commands.errors import CliError
from api.commands.lang import default_lang, set_cli_lang
from api.i18n import LANGUAGES, translate

# Order is the order shown in --help.
COMMAND_MODULES = (
    "api.commands.db",
    "api.commands.data",
    "api.commands.match",
    "api.commands.plan",
    "api.commands.learn",
    "api.commands.users",
    "api.commands.ops",
    "api.commands.ledger",
    "api.commands.worker",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sroi",
        description="Social Return Matcher: import, match, plan and allocate social return.",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="language of messages: nl or en (default: $SROI_LANG, else "
                             "$LANG when Dutch or English, else nl)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # `sroi --lang en …` or `sroi match … --lang en` (the subcommand's option, same dest).
    lang = args.lang or default_lang()
    args.lang = lang
    set_cli_lang(lang)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except CliError as exc:
        # A subcommand may name itself more precisely ("match tender") through `label`.
        print(f"sroi {getattr(args, 'label', None) or args.command}: {exc.render(lang)}",
              file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(translate("onderbroken; niets is half geschreven (elk inlezen is één transactie)",
                        lang), file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
