"""Import templates: one CSV file per interchange kind with exactly the columns the
importer reads (``interchange.csv_columns``) and one example row, so the template cannot
drift from the importer: a new field appears in it by itself, and
``tests/web/test_import_template.py`` parses the example row with the importer.

The example row is a comment line (``# VOORBEELD: …``) above the header: a spreadsheet
shows it in the columns it belongs to, and the importer skips leading comment lines, so a
template filled in below the header never imports the example by mistake. The examples
are the API's documented examples (``api.schemas``), flattened as the export does.

The interchange importer reads JSON and CSV (not spreadsheets' own formats): a template in
``.xlsx`` could not be imported as is, so there is none; Excel opens and saves the CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from api.i18n import N_, translate
from api.importers.interchange import KINDS, csv_columns
from api.schemas import (
    CHALLENGE_EXAMPLE,
    ENTERPRISE_EXAMPLE,
    OBLIGATION_EXAMPLE,
    TENDER_EXAMPLE,
)
from api.services.exporting import flat_row

EXAMPLES: dict[str, dict[str, Any]] = {
    "enterprises": ENTERPRISE_EXAMPLE, "tenders": TENDER_EXAMPLE,
    "challenges": CHALLENGE_EXAMPLE, "obligations": OBLIGATION_EXAMPLE,
}
EXAMPLE_MARK = N_("VOORBEELD (wordt niet ingelezen)")
HINT = N_("Vul uw gegevens in onder de kopregel, één rij per regel; lijsten scheidt u met |. "
          "Velden staan beschreven in de documentatie van het uitwisselformaat.")


def filename(kind: str) -> str:
    return f"{kind}.csv"


def template_csv(kind: str, lang: str = "nl") -> str:
    """The template of ``kind``: ``# kind:``, a hint, the example row as a comment, the
    header. Raises KeyError for an unknown kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    cols = csv_columns(kind)
    example = flat_row(kind, EXAMPLES[kind])
    unknown = set(example) - set(cols)
    if unknown:  # an example field the importer has no column for: a bug, not a template
        raise ValueError(f"example has no column: {sorted(unknown)}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    buf.write(f"# kind: {kind}\n")
    # Comment lines are written as they are: a quoted line would not start with "#" and
    # would be read as the header.
    buf.write("# " + translate(HINT, lang).replace("\n", " ") + "\n")
    row = [example.get(c, "") for c in cols]
    row[0] = f"# {translate(EXAMPLE_MARK, lang)}: {row[0]}"
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(row)
    if not line.getvalue().startswith("#"):
        raise ValueError(f"the example's first cell needs quoting: {row[0]!r}")
    buf.write(line.getvalue())
    writer.writerow(cols)
    return buf.getvalue()
