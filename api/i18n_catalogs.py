"""The gettext catalogs behind ``t()``: loading, extraction and the JSON converter (Babel).

Dutch is the source language: the msgid IS the Dutch text (``t("Ondernemingen")``), so the
Dutch "catalog" is the identity and only English has catalogs. Each team keeps its own file,
``api/translations/en/<team>.po``, so parallel work never conflicts; at load the files are
merged into one :class:`babel.support.Translations` (compiled to .mo in memory, so a fresh
checkout needs no build step).

Placeholders are Python brace fields (``t("Welkom, {name}", name=...)``), flagged
``python-brace-format`` in the catalogs. Plurals are gettext plurals: ``tn("{n} besluit",
"{n} besluiten", n)`` is an entry with ``msgid_plural`` and ``msgstr[0]``/``msgstr[1]``.

Commands (run from the project root)::

    python -m api.i18n_catalogs import-json api/translations/foo.json   # JSON -> en/foo.po
    python -m api.i18n_catalogs extract [out.pot]   # every t()/tn()/N_() msgid in the code
    python -m api.i18n_catalogs missing             # msgids without English, per file
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
CATALOG_DIR = TRANSLATIONS_DIR / "en"
MAPPING_FILE = ROOT / "babel.cfg"

# The extraction keywords: t(msgid, **params), tn(singular, plural, n, **params), and N_ to
# mark a Dutch text that is translated later through a variable (label tables, messages
# raised as exceptions). Babel's own gettext names are kept for {% trans %} and _().
KEYWORDS: dict[str, Any] = {
    "t": None, "tn": (1, 2), "N_": None, "translate": None, "translate_plural": (1, 2),
    "_": None, "gettext": None, "ngettext": (1, 2),
    # Messages made in code and said at the boundary (api/messages.py), the services' errors
    # (api/errors.py: field first, then the message) and the API's (api/deps.py).
    "msg": None, "msgn": (1, 2), "DomainError": (2,), "Invalid": (2,), "NotFound": (2,),
    "Forbidden": (2,), "Conflict": (2,), "InvalidState": (2,), "api_error": (2,),
}

log = logging.getLogger(__name__)
_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}(?!\})")


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a brace-format text (``{{`` escapes excluded)."""
    return set(_FIELD.findall(text))


HEADER = ("# English of the Dutch UI texts (msgid = the Dutch text). One file per team;\n"
          "# see api/i18n_catalogs.py and the Translations rule in HELPERS.md.")
# A fixed date keeps rewritten files free of noise (these are hand-kept, not generated).
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _new_catalog() -> Catalog:
    catalog = Catalog(locale="en", project="sroi-matcher", version="1", charset="utf-8",
                      header_comment=HEADER, creation_date=_EPOCH, revision_date=_EPOCH,
                      last_translator="sroi-matcher", language_team="sroi-matcher")
    catalog.fuzzy = False
    return catalog


def team_files() -> list[Path]:
    return sorted(CATALOG_DIR.glob("*.po"))


def read_catalog(path: Path) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh, locale="en", abort_invalid=True)


def leftover_json() -> list[Path]:
    """Team files still in the old ``{dutch: english}`` format (must be converted)."""
    return sorted(TRANSLATIONS_DIR.glob("*.json"))


@dataclass(frozen=True)
class Entry:
    team: str
    msgid: str | tuple[str, str]
    msgstr: str | tuple[str, ...]


def entries() -> Iterator[Entry]:
    """Every translated entry of every team file (header and empty msgstrs skipped)."""
    for path in team_files():
        for message in read_catalog(path):
            if not message.id or not _translated(message):
                continue
            msgid = tuple(message.id) if isinstance(message.id, list | tuple) else message.id
            msgstr = (tuple(message.string) if isinstance(message.string, list | tuple)
                      else message.string)
            yield Entry(path.stem, msgid, msgstr)  # type: ignore[arg-type]


def _translated(message: Message) -> bool:
    if message.fuzzy:
        return False
    if isinstance(message.string, list | tuple):
        return all(message.string)
    return bool(message.string)


def merged_catalog() -> Catalog:
    """All team files as one catalog; leftover JSON files are merged too, with a warning,
    so nothing is silently ignored until they are converted (a test fails on them)."""
    catalog = _new_catalog()
    for entry in entries():
        catalog.add(entry.msgid, entry.msgstr, flags=("python-brace-format",))
    for path in leftover_json():
        log.warning("%s is an old JSON catalog: run `python -m api.i18n_catalogs import-json "
                    "%s`", path, path.relative_to(ROOT))
        for dutch, english in json.loads(path.read_text(encoding="utf-8")).items():
            if str(dutch) not in catalog:
                catalog.add(str(dutch), str(english))
    return catalog


@lru_cache(maxsize=1)
def english_translations() -> Translations:
    """The merged English catalog as gettext translations, compiled once per process."""
    buffer = io.BytesIO()
    write_mo(buffer, merged_catalog())
    buffer.seek(0)
    return Translations(fp=buffer)


# --- converter ------------------------------------------------------------------------

def write_catalog(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = _new_catalog()
    for message in catalog:
        if message.id:
            fresh[message.id] = message
    catalog = fresh
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=0, no_location=True, omit_header=False, sort_output=True)


def import_json(json_path: Path) -> tuple[Path, int, list[str]]:
    """Convert a team's ``{dutch: english}`` JSON file into ``en/<team>.po`` (merging with an
    existing .po of that team) and delete the JSON. Returns the .po path, the number of
    entries written and the msgids another team translates differently."""
    data: dict[str, str] = json.loads(json_path.read_text(encoding="utf-8"))
    po_path = CATALOG_DIR / f"{json_path.stem}.po"
    catalog = read_catalog(po_path) if po_path.exists() else _new_catalog()
    others = {e.msgid: e.msgstr for e in entries() if e.team != json_path.stem}
    conflicts = []
    for dutch, english in data.items():
        flags = ("python-brace-format",) if placeholders(dutch) else ()
        catalog.add(str(dutch), str(english), flags=flags)
        if dutch in others and others[dutch] != english:
            conflicts.append(f"{dutch!r}: {english!r} here, {others[dutch]!r} elsewhere")
    write_catalog(po_path, catalog)
    json_path.unlink()
    english_translations.cache_clear()
    return po_path, len(data), conflicts


# --- extraction -----------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    msgid: str | tuple[str, str]
    where: str  # "templates/home.html:12"


def extract(root: Path = ROOT) -> list[Found]:
    """Every literal msgid passed to t()/tn()/N_()/_() in templates and Python code, found by
    Babel's extractors with the mapping in babel.cfg."""
    with open(MAPPING_FILE, encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: list[Found] = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS,
            directory_filter=_skip_dirs):
        msgid: str | tuple[str, str]
        if isinstance(message, tuple):
            msgid = (str(message[0]), str(message[1]))
        else:
            msgid = str(message)
        found.append(Found(msgid, f"{filename}:{lineno}"))
    return found


def _skip_dirs(dirname: str) -> bool:
    name = Path(dirname).name
    return not (name.startswith(".") or name in {"node_modules", "__pycache__", ".venv"})


def missing(found: Iterable[Found]) -> dict[str, list[str]]:
    """msgid -> where it is used, for every extracted msgid without an English msgstr."""
    known = {e.msgid for e in entries()}
    out: dict[str, list[str]] = {}
    for item in found:
        if item.msgid not in known:
            key = item.msgid if isinstance(item.msgid, str) else " | ".join(item.msgid)
            out.setdefault(key, []).append(item.where)
    return out


def bad_placeholders() -> list[str]:
    """Entries whose English uses other ``{fields}`` than their Dutch msgid."""
    out = []
    for entry in entries():
        ids = (entry.msgid,) if isinstance(entry.msgid, str) else entry.msgid
        strs = (entry.msgstr,) if isinstance(entry.msgstr, str) else entry.msgstr
        wanted = set().union(*(placeholders(i) for i in ids))
        for text in strs:
            if placeholders(text) - wanted or (
                    isinstance(entry.msgid, str) and placeholders(text) != wanted):
                out.append(f"{entry.team}.po: {entry.msgid!r} -> {text!r}")
    return out


def conflicts() -> list[str]:
    """msgids that two team files translate differently (one would silently win)."""
    seen: dict[Any, Entry] = {}
    out = []
    for entry in entries():
        first = seen.setdefault(entry.msgid, entry)
        if first.msgstr != entry.msgstr:
            out.append(f"{entry.msgid!r}: {first.team}.po {first.msgstr!r}, "
                       f"{entry.team}.po {entry.msgstr!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in {"import-json", "extract", "missing"}:
        print(__doc__)
        return 2
    command, rest = args[0], args[1:]
    if command == "import-json":
        for name in rest or [str(p) for p in leftover_json()]:
            po_path, count, clashes = import_json(Path(name))
            print(f"{name} -> {po_path.relative_to(ROOT)} ({count} entries)")
            for clash in clashes:
                print(f"  differs from another team: {clash}")
        return 0
    found = extract()
    if command == "extract":
        catalog = _new_catalog()
        for item in found:
            catalog.add(item.msgid, locations=[(item.where.rsplit(":", 1)[0],
                                               int(item.where.rsplit(":", 1)[1]))])
        out = Path(rest[0]) if rest else None
        if out:
            with open(out, "wb") as fh:
                write_po(fh, catalog, width=0, sort_output=True)
        print(f"{len(catalog)} msgids extracted" + (f" to {out}" if out else ""))
        return 0
    gaps = missing(found)
    for msgid, where in sorted(gaps.items()):
        print(f"{where[0]}: {msgid}")
    print(f"{len(gaps)} msgids without English")
    return 1 if gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
