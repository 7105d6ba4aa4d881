"""The import formats: each registered once, here, with its name, labels, file extensions
and parser. Everything that lists formats (the CLI's ``sroi import --format`` and
``sroi import-<name>`` commands, ``POST /api/v1/import/{fmt}``, the import page, the
tender ``source`` check) reads this registry.

A parser is pure: ``parse(data, filename)`` -> either interchange records
(``api.importers.interchange.ParsedFile``: any kind, the file imported whole or not at
all, duplicates checked) or published tenders (``api.importers.common.ParsedTenders``:
one outcome per notice, ``partial`` imports the valid ones). It never touches the
database; ``api.services.importing`` writes either form.

Adding a format: one parser module and one ``register(Format(...))`` line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.importers.common import ParsedTenders
from api.importers.eforms import parse_eforms
from api.importers.interchange import TENDER_SOURCES, ParsedFile, parse_file
from api.importers.ocds import parse_ocds
from api.importers.ted import parse_ted

Parsed = ParsedFile | ParsedTenders
Parser = Callable[[bytes, str], Parsed]

DEFAULT = "interchange"


def parse_interchange(filename: str, data: bytes) -> ParsedFile:
    """Interchange records; a tender's ``source`` may name any published format here."""
    return parse_file(filename, data, tender_sources=TENDER_SOURCES + names(published=True))


def _interchange(data: bytes, filename: str) -> ParsedFile:
    return parse_interchange(filename, data)


@dataclass(frozen=True)
class Format:
    name: str  # the CLI's --format, the API's {fmt}, a published tender's ``source``
    label: str  # its name as users know it
    help: str  # English, for the CLI and the API description
    # Lower case, with the dot: a directory imports these files, the upload form offers
    # them (interchange's parser also reads .txt/.tsv as CSV when given one by name).
    extensions: tuple[str, ...]
    media_types: tuple[str, ...]
    parse: Parser
    # Notices a buyer publishes (tenders only): one outcome per notice, ``partial``
    # writes the valid ones, an officer imports their own organisation's.
    published: bool = True


class UnknownFormat(ValueError):
    """A format name that is not registered."""


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    if fmt.name in FORMATS:
        raise ValueError(f"import format {fmt.name!r} is already registered")
    FORMATS[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    """For tests that register a format of their own."""
    FORMATS.pop(name, None)


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown import format {name!r}; use one of: "
                            + ", ".join(FORMATS)) from None


def names(*, published: bool | None = None) -> tuple[str, ...]:
    """Registered format names (in registration order), optionally only the published
    (or only the non-published) ones."""
    return tuple(n for n, f in FORMATS.items() if published is None or f.published == published)


register(Format(
    "interchange", "interchange (JSON or CSV)",
    "interchange files (shared/interchange.md): JSON documents or CSV files of one kind each",
    (".json", ".csv"), ("application/json", "text/csv"), _interchange,
    published=False))
register(Format(
    "ocds", "OCDS",
    "OCDS release/record packages or JSON Lines of releases (ref = ocid)",
    (".json", ".jsonl"), ("application/json",), parse_ocds))
register(Format(
    "eforms", "eForms",
    "eForms XML notices: PIN, contract notice, award notice (ref = BT-04)",
    (".xml",), ("application/xml", "text/xml"), parse_eforms))
register(Format(
    "ted", "TED XML (R2.0.9)",
    "TED XML R2.0.9 notices (TED_EXPORT, 2014 forms F01-F08, F21-F25; ref = ted-<TED number>)",
    (".xml",), ("application/xml", "text/xml"), parse_ted))
