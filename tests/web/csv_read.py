"""Reading the web's CSV downloads as a spreadsheet would (api/web/csv_export.py)."""

from __future__ import annotations

import csv
import io
from typing import Any


def read_csv(response: Any) -> list[dict[str, str]]:
    """The rows of a CSV download, parsed with the dialect its language promises
    (Dutch: ``;``, English: ``,``), after checking the type and the byte-order mark."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    text = response.text
    assert text.startswith("\ufeff"), "no UTF-8 byte-order mark"
    lang = response.headers["content-language"]
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";" if lang == "nl" else ","))


def number(cell: str) -> float:
    """A Dutch CSV number ("2500,5") as a float; refuses grouped or English numbers."""
    assert "." not in cell, f"not a plain Dutch number: {cell!r}"
    return float(cell.replace(",", "."))
