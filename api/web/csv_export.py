"""CSV downloads: every list page's export goes through ``csv_response``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(
            (f"{v.get('scheme')}:{v.get('level') or ''}:{v.get('valid_until') or ''}"
             if isinstance(v, dict) else str(v)) for v in value)
    if value is None:
        return ""
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would be executed.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str],
                 filename: str) -> StreamingResponse:
    """A CSV download (UTF-8 with BOM so Excel reads the accents)."""

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(generate(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
