"""Purchase ledgers (accounts-payable lines) as Dutch bookkeeping software exports them.

CSV with ``;``, ``,`` or tab, decimal comma or point, ``dd-mm-jjjj`` or ISO dates, UTF-8 or
Windows-1252, Dutch or English headers, and Excel ``.xlsx`` (openpyxl). A title line above
the header is skipped. The column mapping is recognised from the headers
(relatie/crediteur/leverancier, omschrijving, grootboekrekening, bedrag excl. btw, datum,
KvK, ...) or given by the caller (the user's fix, remembered per firm by
``api.services.ledgers``).

Parsing only, no database. Every problem is reported with its row and column: an *error*
(an amount or date that cannot be read, no supplier, a required column not mapped) makes
the file refused whole; a *note* (credit note, empty description, totals row, a foreign
amount converted to euros at the ECB's monthly rate of the line's month by
``matcher.currency``, or kept uncounted when the rate table has no rate for that month,
malformed KvK number) keeps the file and says what was done with the line. Nothing is
dropped silently: a skipped totals row is a note too.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from api.messages import Message, msg
from matcher.currency import CurrencyError, to_eur

# The fields a ledger line has; the first three must be mapped. ``credit``: the credit
# column of a file that splits amounts into Debet and Credit (amount = debet - credit);
# ``dc``: a D/C indicator column (C makes the amount negative).
REQUIRED = ("supplier", "amount", "date")
FIELDS = ("supplier", "description", "account", "account_name", "amount", "date", "kvk",
          "place", "currency", "amount_currency", "credit", "dc")

# Recognised headers per field, normalised (lower case, letters and digits only), best first:
# "bedrag excl. btw" beats a plain "bedrag", which beats "bedrag incl. btw". The headers of
# the exports of Exact Online, Twinfield, AFAS, SnelStart, Moneybird, e-Boekhouden, Yuki
# and King as their users save them (fixtures/ledgers.py generates several layouts).
HEADERS: dict[str, tuple[str, ...]] = {
    # Names before the bare "Crediteur"/"Relatie", which some exports fill with a code.
    "supplier": ("crediteurnaam", "naamcrediteur", "relatienaam", "naamrelatie",
                 "leveranciersnaam", "naamleverancier", "relatie", "crediteur", "leverancier",
                 "contact", "contactnaam", "bedrijfsnaam", "naam", "supplier", "suppliername",
                 "vendor", "vendorname", "creditor", "creditorname", "payee", "relation",
                 "relationname"),
    "description": ("omschrijving", "omschr", "boekingsomschrijving", "factuuromschrijving",
                    "omschrijvingboeking", "mutatieomschrijving", "regelomschrijving",
                    "boekingstekst", "tekst", "description", "memo", "narrative", "details"),
    "account": ("grootboekrekening", "grootboek", "grootboekrek", "gbrekening", "gbrek",
                "rekening", "kostenrekening", "kostensoort", "categorie", "glaccount",
                "ledgeraccount", "generalledger", "account", "category", "gl"),
    # Most packages export the account's number and its name as two columns ("4330" and
    # "Schoonmaakkosten"); the name is what says what was bought, so both are read.
    "account_name": ("grootboeknaam", "gbnaam", "omschrijvinggrootboek",
                     "omschrijvinggrootboekrekening", "grootboekrekeningomschrijving",
                     "grootboekomschrijving", "naamgrootboekrekening", "naamgrootboek",
                     "grootboekreknaam", "omschrijvinggbrekening", "rekeningnaam",
                     "rekeningomschrijving", "omschrijvingrekening", "kostensoortnaam",
                     "kostensoortomschrijving",
                     "accountname", "glaccountname", "glname", "accountdescription",
                     "ledgeraccountname"),
    "amount": ("bedragexclbtw", "bedragexbtw", "exclbtw", "nettobedrag", "bedragexcl",
               "bedrageur", "bedrag", "netamount", "amountexclvat", "amountexvat", "netto",
               "amount", "bedragdebet", "debetbedrag", "debet", "debit", "debitamount"),
    "date": ("datum", "boekdatum", "factuurdatum", "boekingsdatum", "documentdatum",
             "transactiedatum", "date", "invoicedate", "bookingdate", "postingdate",
             "transactiondate"),
    "kvk": ("kvknummer", "kvk", "kvknr", "kamervankoophandel", "chamberofcommerce", "cocnumber",
            "coc", "kvkcrediteur"),
    "place": ("plaats", "vestigingsplaats", "woonplaats", "city", "town", "place"),
    "currency": ("valuta", "valutacode", "munt", "currency", "currencycode"),
    "amount_currency": ("bedraginvaluta", "valutabedrag", "bedragvv", "bedragvaluta",
                        "amountincurrency", "foreignamount", "originalamount"),
    "credit": ("credit", "bedragcredit", "creditbedrag", "creditamount"),
    "dc": ("dc", "debetcredit", "debcred", "dk"),
}
# A header naming a code or number is not the supplier's or account's name, even when it
# starts like one ("Crediteurnummer", "Relatiecode"): exact synonyms only for those.
_CODE_SUFFIX = ("code", "nummer", "nr", "id", "no")
# "Crediteur" starts like "credit": the credit column and the D/C sign match exactly only.
_EXACT_ONLY = ("credit", "dc")
TOTALS = re.compile(r"^\s*(sub)?tota(a)?l(en)?\b|^\s*grand total|^\s*eindtotaal|"
                    r"^\s*(begin|eind)?saldo\b|^\s*(opening|closing) balance", re.I)
SEP_LINE = re.compile(r"^\ufeff?\s*sep\s*=\s*(.)\s*$", re.I)
_NONWORD = re.compile(r"[^a-z0-9]+")
_AMOUNT_JUNK = re.compile(r"[€$£\s]|EUR|USD|GBP", re.I)


def norm_header(text: object) -> str:
    s = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return _NONWORD.sub("", s.lower())


@dataclass(frozen=True)
class LedgerProblem:
    row: int | None  # the file's row number (1 = first row), None for the file
    column: str | None  # the file's header
    code: str  # translation key suffix, e.g. "bad_amount"
    severity: str  # "error" refuses the file, "note" keeps it
    message: str  # English; pages render ``code`` with ``params`` in Dutch or English
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerLine:
    row: int
    supplier: str
    description: str
    account: str
    # None: a foreign amount without a euro amount and no ECB rate for its date (kept,
    # reported, not counted); a converted one carries the rate's euros.
    amount_eur: float | None
    booked_on: date
    kvk: str | None = None
    place: str = ""
    currency: str = "EUR"
    amount_currency: float | None = None


@dataclass
class ParsedLedger:
    filename: str
    header: list[str]
    mapping: dict[str, str]  # field -> the file's header
    lines: list[LedgerLine] = field(default_factory=list)
    problems: list[LedgerProblem] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""

    @property
    def errors(self) -> list[LedgerProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def notes(self) -> list[LedgerProblem]:
        return [p for p in self.problems if p.severity == "note"]

    @property
    def ok(self) -> bool:
        return not self.errors


class LedgerFileError(ValueError):
    """The file cannot be read as a ledger at all (not CSV/xlsx, empty, no header); the
    message (Dutch, ``api.messages``) is said in the reader's language."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.render("nl"))
        self.message = message


def guess_mapping(header: Iterable[str]) -> dict[str, str]:
    """field -> header, each header used once, the best-ranked synonym winning."""
    cols = [h for h in header if str(h or "").strip()]
    normed = {h: norm_header(h) for h in cols}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    # Exact synonyms first (across all fields, by rank), then headers that start with one.
    for exact in (True, False):
        for field_name in FIELDS:
            if field_name in mapping:
                continue
            for syn in HEADERS[field_name]:
                hit = next((h for h in cols if h not in used and (
                    normed[h] == syn if exact else
                    (len(syn) >= 4 and normed[h].startswith(syn)
                     and "incl" not in normed[h] and field_name not in _EXACT_ONLY
                     and (field_name == "kvk" or not normed[h].endswith(_CODE_SUFFIX))))),
                    None)
                if hit is not None:
                    mapping[field_name] = hit
                    used.add(hit)
                    break
    return mapping


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with its byte order mark, tab-separated.
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise LedgerFileError(msg("het bestand zegt UTF-16 te zijn, maar is dat niet "
                                      "overal")) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Windows-1252 decodes every byte but five; latin-1 takes those.
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"


def _delimiter(text: str) -> str:
    sample = text.splitlines()[:20]
    best, count = ",", -1
    for d in (";", ",", "\t", "|"):
        c = sum(line.count(d) for line in sample)
        if c > count:
            best, count = d, c
    return best


def _header_index(rows: list[list[Any]]) -> int:
    """The first row naming at least two ledger fields (title lines above it are skipped)."""
    for i, row in enumerate(rows[:15]):
        if len(guess_mapping([str(c) for c in row if c is not None])) >= 2:
            return i
    raise LedgerFileError(msg("geen kopregel gevonden: verwacht kolommen zoals Relatie, "
                              "Omschrijving, Bedrag excl. btw en Datum in de eerste 15 rijen"))


def _decimal_comma(values: Iterable[str]) -> bool:
    """Whether the file writes amounts with a decimal comma, from the unambiguous ones."""
    comma = point = 0
    for v in values:
        s = _AMOUNT_JUNK.sub("", v)
        if re.search(r",\d{1,2}-?\)?$", s):
            comma += 1
        elif re.search(r"\.\d{1,2}-?\)?$", s):
            point += 1
    return comma > point


def parse_amount(raw: object, decimal_comma: bool) -> float:
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int | float):
        return float(raw)
    s = _AMOUNT_JUNK.sub("", str(raw))
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1]
    if s.endswith("-"):
        neg, s = True, s[:-1]
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", s):
        raise ValueError(raw)
    value = float(s)
    return -value if neg else value


_DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%y", "%Y/%m/%d",
                 "%d/%m/%y", "%Y%m%d")


# Month names as bookkeeping packages print them ("3 jan 2025", "03-mrt-2025",
# "3 januari 2025"), Dutch and English, by their first three letters ("sept" too).
_MONTHS = {m: i for i, names in enumerate((
    ("jan",), ("feb",), ("mrt", "maa", "mar"), ("apr",), ("mei", "may"), ("jun",),
    ("jul",), ("aug",), ("sep",), ("okt", "oct"), ("nov",), ("dec",)), start=1)
    for m in names}
_NAMED_DATE = re.compile(r"(\d{1,2})[-\s./]+([a-z]{3,9})\.?[-\s./]+(\d{4}|\d{2})\b")


def _named_date(s: str) -> date | None:
    m = _NAMED_DATE.match(s.lower())
    if m is None or m.group(2)[:3] not in _MONTHS:
        return None
    year = int(m.group(3))
    year += 2000 if year < 100 else 0
    try:
        return date(year, _MONTHS[m.group(2)[:3]], int(m.group(1)))
    except ValueError:
        return None


def parse_date(raw: object) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    s = str(raw).strip()
    named = _named_date(s)
    if named is not None:
        return named
    if " " in s:  # "03-01-2025 00:00:00" from spreadsheets saved as CSV
        s = s.split(" ", 1)[0]
    elif len(s) > 10 and s[10] == "T":  # "2026-01-03T00:00:00" (ISO with a time)
        s = s[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def _kvk(raw: object) -> str | None:
    s = re.sub(r"\D", "", str(raw or "").split(".")[0] if isinstance(raw, float) else
               str(raw or ""))
    return s if len(s) == 8 else None


def _account(number: str, name: str) -> str:
    """The account as one text, "4330 Schoonmaakkosten", from its number and name columns
    (either may be absent or repeat the other)."""
    if not name or name == number:
        return number
    if not number or name.startswith(number):
        return name
    return f"{number} {name}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, filename: str, max_rows: int | None = None,
              progress: Callable[[str, int, int], None] | None = None
              ) -> tuple[list[list[Any]], str, str]:
    """The file's rows (cells as read), its encoding and delimiter (xlsx: ``"xlsx"``);
    ``max_rows``: only the first ones (a quick look before the whole file is read).
    ``progress("read", rows read, rows)`` every 10,000 rows of a workbook, whose reading
    (openpyxl unzips and parses the sheet's XML) takes most of its import; the total is
    the sheet's recorded dimension (0 when the workbook does not say)."""
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged zip
            raise LedgerFileError(msg("geen leesbare Excel-werkmap ({error})",
                                      error=str(exc))) from None
        try:
            ws = wb.worksheets[0]
            total = (ws.max_row or 0) if max_rows is None else max_rows
            rows: list[list[Any]] = []
            for r in islice(ws.iter_rows(values_only=True), max_rows):
                if progress is not None and len(rows) % 10_000 == 0:
                    progress("read", len(rows), max(total, len(rows)))
                rows.append(list(r))
        finally:
            wb.close()
        return rows, "xlsx", "xlsx"
    if b"\x00" in data[:1024] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LedgerFileError(msg("binair bestand: verwacht CSV-tekst of een Excel-werkmap "
                                  "(.xlsx)"))
    text, encoding = _decode(data)
    if not text.strip():
        raise LedgerFileError(msg("het bestand is leeg"))
    first, _, rest = text.partition("\n")
    hint = SEP_LINE.match(first.rstrip("\r"))
    if hint:
        # Excel's "sep=;" line names the separator; the line is not a row of the table
        # (an empty first row stands in for it, so row numbers stay the file's).
        delim = hint.group(1)
        rest_rows = islice(csv.reader(io.StringIO(rest), delimiter=delim),
                           None if max_rows is None else max_rows - 1)
        return [[], *rest_rows], encoding, f"{delim} (sep=)"
    delim = _delimiter(text)
    return (list(islice(csv.reader(io.StringIO(text), delimiter=delim), max_rows)), encoding,
            delim)


def parse_ledger(data: bytes, filename: str, mapping: Mapping[str, str] | None = None, *,
                 max_rows: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> ParsedLedger:
    """Read a ledger file; ``mapping`` (field -> header) overrides the recognised one for
    the fields it names. Raises LedgerFileError only when the file has no readable table.
    ``max_rows``: the first rows only (the page's quick check of the columns before the
    whole file goes to a background job); ``progress(step, rows done, rows)`` every
    10,000 rows."""
    rows, encoding, delim = read_rows(data, filename, max_rows, progress)
    hi = _header_index(rows)
    header = [_cell(c) for c in rows[hi]]
    guessed = guess_mapping(header)
    if mapping:
        for f, h in mapping.items():
            if f not in FIELDS:
                raise LedgerFileError(msg("onbekend grootboekveld '{field}'; velden: {fields}",
                                          field=f, fields=", ".join(FIELDS)))
            if h:
                guessed = {k: v for k, v in guessed.items() if v != h}
                guessed[f] = h
            else:
                guessed.pop(f, None)
    out = ParsedLedger(filename, header, guessed, encoding=encoding, delimiter=delim)
    col: dict[str, int] = {}
    for f, h in guessed.items():
        if h not in header:
            out.problems.append(LedgerProblem(None, h, "unknown_column", "error",
                                              f"column {h!r} (for {f}) is not in the file",
                                              {"column": h, "field": f}))
        else:
            col[f] = header.index(h)
    for f in REQUIRED:
        if f not in guessed:
            out.problems.append(LedgerProblem(
                None, None, "unmapped", "error",
                f"no column for {f}: map one of the file's columns to it", {"field": f}))
    if "description" not in guessed:
        out.problems.append(LedgerProblem(None, None, "no_description", "note",
                                          "no description column: lines are classified by "
                                          "supplier and ledger account only", {}))
    if out.errors:
        return out
    # What was recognised of the layout, said once for the file (never silently).
    if delim.endswith("(sep=)"):
        out.problems.append(LedgerProblem(1, None, "sep_line", "note",
                                          f"first line 'sep={delim[0]}' names the separator",
                                          {"sep": delim[0]}))
    skipped = [i + 1 for i in range(hi) if any(_cell(c) for c in rows[i])
               and not (i == 0 and delim.endswith("(sep=)"))]
    if skipped:
        out.problems.append(LedgerProblem(
            None, None, "skipped_rows", "note",
            f"title rows above the header skipped: {', '.join(map(str, skipped))}",
            {"rows": ", ".join(map(str, skipped)), "header_row": hi + 1}))
    used_headers = set(guessed.values())
    unused = [h for h in header if h and h not in used_headers]
    if unused:
        out.problems.append(LedgerProblem(
            None, None, "unused_columns", "note",
            f"columns not used: {', '.join(unused)}", {"columns": ", ".join(unused)}))
    if "credit" in guessed:
        out.problems.append(LedgerProblem(
            None, guessed["credit"], "debit_credit", "note",
            f"amount = {guessed['amount']} minus {guessed['credit']} (a credit is a credit "
            "note or correction)", {"debit": guessed["amount"], "credit": guessed["credit"]}))
    body = rows[hi + 1:]

    def get(row: list[Any], f: str) -> Any:
        i = col.get(f)
        return row[i] if i is not None and i < len(row) else None

    # The first 2,000 amounts written as text decide the decimal separator.
    decimal_comma = _decimal_comma(
        v for v in (get(r, "amount") for r in body[:2000]) if isinstance(v, str))
    # Dates and KvK numbers repeat across a year of lines: read each distinct one once.
    dates: dict[Any, date | None] = {}
    kvks: dict[str, str | None] = {}
    i_sup, i_desc, i_acc = col["supplier"], col.get("description"), col.get("account")
    i_acc_name = col.get("account_name")
    i_amt, i_date = col["amount"], col["date"]
    i_kvk, i_place, i_cur, i_fx = (col.get("kvk"), col.get("place"), col.get("currency"),
                                   col.get("amount_currency"))
    i_credit, i_dc = col.get("credit"), col.get("dc")
    has_fx = "amount_currency" in guessed

    def cell_at(row: list[Any], i: int | None) -> str:
        if i is None or i >= len(row):
            return ""
        v = row[i]
        return v.strip() if isinstance(v, str) else _cell(v)

    for offset, row in enumerate(body):
        if progress is not None and offset % 10_000 == 0:
            progress("parse", offset, len(body))
        if not any(row):
            continue  # a blank row ("" or None cells) carries nothing to report
        rownum = hi + offset + 2  # 1-based, header is row hi+1
        supplier = cell_at(row, i_sup)
        desc = cell_at(row, i_desc)
        if (not supplier or TOTALS.search(supplier)) and any(
                TOTALS.search(_cell(c)) for c in row if c):
            out.problems.append(LedgerProblem(rownum, None, "totals_row", "note",
                                              "totals row skipped (not a purchase)", {}))
            continue
        problems_before = len(out.problems)
        if not supplier:
            out.problems.append(LedgerProblem(rownum, guessed["supplier"], "no_supplier", "error",
                                              "no supplier on this line", {}))
        raw_amount = row[i_amt] if i_amt < len(row) else None
        amount: float | None = None
        if raw_amount is not None and raw_amount != "":
            try:
                amount = parse_amount(raw_amount, decimal_comma)
            except ValueError:
                out.problems.append(LedgerProblem(
                    rownum, guessed["amount"], "bad_amount", "error",
                    f"amount {_cell(raw_amount)!r} is not a number", {"value": _cell(raw_amount)}))
        if i_credit is not None:
            raw_credit = row[i_credit] if i_credit < len(row) else None
            if raw_credit is not None and raw_credit != "":
                try:
                    credit = parse_amount(raw_credit, decimal_comma)
                except ValueError:
                    out.problems.append(LedgerProblem(
                        rownum, guessed["credit"], "bad_amount", "error",
                        f"amount {_cell(raw_credit)!r} is not a number",
                        {"value": _cell(raw_credit)}))
                else:
                    amount = round((amount or 0.0) - credit, 2)
        if i_dc is not None and amount is not None and cell_at(row, i_dc)[:1].upper() in (
                "C", "K"):
            amount = -abs(amount)
        raw_date = row[i_date] if i_date < len(row) else None
        key = raw_date if isinstance(raw_date, str | date) else repr(raw_date)
        if key in dates:
            booked = dates[key]
        else:
            try:
                booked = parse_date(raw_date)
            except ValueError:
                booked = None
            dates[key] = booked
        if booked is None:
            out.problems.append(LedgerProblem(
                rownum, guessed["date"], "bad_date", "error",
                f"date {_cell(raw_date)!r} is not a date (dd-mm-jjjj or jjjj-mm-dd)",
                {"value": _cell(raw_date)}))
        currency = (cell_at(row, i_cur) or "EUR").upper()
        if currency in ("€", "EURO"):
            currency = "EUR"
        amount_currency: float | None = None
        raw_fx = cell_at(row, i_fx)
        if raw_fx:
            try:
                amount_currency = parse_amount(raw_fx, decimal_comma)
            except ValueError:
                out.problems.append(LedgerProblem(
                    rownum, guessed.get("amount_currency"), "bad_amount", "error",
                    f"amount {raw_fx!r} is not a number", {"value": raw_fx}))
        if currency != "EUR" and not has_fx:
            # The amount column holds the foreign amount: the euro figure is converted.
            amount_currency, amount = amount, None
        if (currency != "EUR" and amount is None and amount_currency is not None
                and booked is not None):
            # No euro amount in the books: the ECB's monthly rate of the line's month
            # (matcher.currency, the one owner), the original amount and currency kept.
            try:
                conv = to_eur(amount_currency, currency, booked, within=True)
            except CurrencyError as exc:
                out.problems.append(LedgerProblem(
                    rownum, guessed.get("currency"), "no_rate", "note",
                    f"amount in {currency} on {booked.isoformat()}: no ECB rate ({exc}); "
                    "kept and classified, not counted in the euro spend",
                    {"currency": currency, "date": booked.isoformat(),
                     "amount": amount_currency}))
            else:
                amount = conv.eur
                out.problems.append(LedgerProblem(
                    rownum, guessed.get("currency"), "converted", "note",
                    f"{currency} {amount_currency:.2f} converted at the ECB rate of "
                    f"{conv.rate_month} ({conv.rate:g} per euro): EUR {conv.eur:.2f}",
                    {"currency": currency, "amount": amount_currency, "rate": conv.rate,
                     "month": conv.rate_month, "eur": conv.eur}))
        elif amount is None and len(out.problems) == problems_before:
            out.problems.append(LedgerProblem(rownum, guessed["amount"], "bad_amount", "error",
                                              "no amount on this line", {"value": ""}))
        if len(out.problems) > problems_before and any(
                p.severity == "error" for p in out.problems[problems_before:]):
            continue
        if amount is not None and amount < 0:
            out.problems.append(LedgerProblem(
                rownum, guessed["amount"], "credit_note", "note",
                "credit note: a negative amount, netted against the supplier's spend",
                {"amount": amount}))
        if not desc:
            out.problems.append(LedgerProblem(
                rownum, guessed.get("description"), "empty_description", "note",
                "empty description: classified by supplier and ledger account", {}))
        raw_kvk = cell_at(row, i_kvk)
        kvk: str | None = None
        if raw_kvk:
            if raw_kvk not in kvks:
                kvks[raw_kvk] = _kvk(raw_kvk)
            kvk = kvks[raw_kvk]
            if kvk is None:
                out.problems.append(LedgerProblem(
                    rownum, guessed.get("kvk"), "bad_kvk", "note",
                    f"KvK number {raw_kvk!r} is not 8 digits: ignored", {"value": raw_kvk}))
        assert booked is not None
        out.lines.append(LedgerLine(
            row=rownum, supplier=supplier, description=desc,
            account=_account(cell_at(row, i_acc), cell_at(row, i_acc_name)),
            amount_eur=amount, booked_on=booked, kvk=kvk,
            place=cell_at(row, i_place), currency=currency, amount_currency=amount_currency))
    if not out.lines and not out.errors:
        out.problems.append(LedgerProblem(None, None, "no_lines", "error",
                                          "the file has a header but no ledger lines", {}))
    return out
