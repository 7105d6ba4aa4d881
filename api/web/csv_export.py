"""CSV downloads for spreadsheets: every CSV a person downloads goes through ``csv_response``.

The file follows the reader's language, because that is what their spreadsheet expects:

- Dutch: ``;`` between cells and a decimal comma (Dutch Excel and LibreOffice read ``,`` as
  the decimal sign, so a ``,``-separated file falls apart and "2500.0" becomes 25000),
  Dutch headers.
- English: ``,`` between cells and a decimal point, English headers.

Both start with a UTF-8 byte-order mark so Excel reads the accents ("Zoë", "café").

Numbers are written as plain numbers in the language's decimal sign, without thousands
separators and without a currency sign ("2500,5", not "€ 2.500,50"): a spreadsheet reads
"2.500" as a date or as 2,5 and "€ 2.500" as text, so the grouped page format would stop the
cells being summed. Dates are ISO (2026-11-23), which spreadsheets in both languages read as
dates; times are Dutch wall-clock time (Europe/Amsterdam) as on the pages. Codes are shown
by their labels (``api/labels.py``) and a reference has a name beside it (``Onderneming`` +
``Ref. onderneming``) so the file can be read without the application.

Not for machine exchange: ``sroi export`` writes the interchange format
(``api/services/exporting.py``), which is fixed by its specification.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.requests import Request

from api.i18n import N_, request_lang, translate
from api.web.local_time import local_time

DELIMITER = {"nl": ";", "en": ","}
BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    """One column: the row's key, its Dutch header (English through the translations; its
    ``{placeholders}`` filled from ``params``, Dutch texts translated too) and, for a column
    of codes, the Dutch labels of the codes (translated the same way)."""

    key: str
    header: str
    labels: Mapping[str, str] | None = None
    params: Mapping[str, str] | None = None

    @property
    def decimals(self) -> int:
        # Euros (the project's ``*_eur`` keys) to the cent; other numbers (scores, shares,
        # distances) keep up to six decimals.
        return 2 if self.key.endswith("_eur") or "_eur_" in self.key else 6

    def title(self, lang: str) -> str:
        params = {k: translate(v, lang) for k, v in (self.params or {}).items()}
        return translate(self.header, lang, **params)


def plain_number(value: float | int, lang: str, decimals: int = 6) -> str:
    """A number as a spreadsheet reads it: no grouping, the language's decimal sign, at most
    ``decimals`` decimals with trailing zeros dropped (2500.0 -> '2500', 0.125 -> '0,125'
    in Dutch)."""
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return ""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", ",") if lang == "nl" else text


def _safe(text: str) -> str:
    # Spreadsheet formula injection: a text cell starting with = + - @ would be executed.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def cell(value: Any, lang: str, labels: Mapping[str, str] | None = None,
         decimals: int = 6) -> str:
    """One value as the text of a cell (see the module's docstring for the rules)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return translate(N_("ja") if value else N_("nee"), lang)
    if isinstance(value, int | float):
        return plain_number(value, lang, decimals)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " | ".join(cell(v, lang, labels, decimals) for v in value)
    if isinstance(value, dict):  # a certificate: scheme, level, valid until
        return " ".join(str(value[k]) for k in ("scheme", "level", "valid_until")
                        if value.get(k))
    text = str(value)
    if labels is not None and text in labels:
        return translate(labels[text], lang)
    return _safe(text)


def csv_lines(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column],
              lang: str) -> Iterator[str]:
    """The file's text in chunks: BOM, header row, one line per row."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=DELIMITER.get(lang, ";"), lineterminator="\r\n")
    buf.write(BOM)
    writer.writerow([c.title(lang) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c.key), lang, c.labels, c.decimals) for c in columns])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def csv_response(request: Request, rows: Iterable[Mapping[str, Any]],
                 columns: Sequence[Column], filename: str) -> StreamingResponse:
    """A CSV download in the request's language (``api.i18n.request_lang``)."""
    lang = request_lang(request)
    return StreamingResponse(
        csv_lines(rows, columns, lang), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Content-Language": lang})
