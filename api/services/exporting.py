"""Export the store as interchange: ``export_document(session)`` (one JSON document) and
``export_csv(session, kind)`` (one CSV file per kind).

The output is deterministic (entities sorted by ref, fields in the format's order, absent
optional fields left out) and re-imports to the same rows: export → import into an empty
database → export again gives identical output. Store columns the format has no field for
travel in ``extra`` (see ``api.importers.interchange``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from api.importers.interchange import KINDS, csv_columns
from api.serialize import ROWS


def export_kind(session: Session, kind: str) -> list[dict[str, Any]]:
    cls, to_doc = ROWS[kind]
    rows = session.execute(select(cls).order_by(cls.ref)).scalars()
    return [to_doc(r) for r in rows]


def export_document(session: Session, kinds: Iterable[str] = KINDS) -> dict[str, Any]:
    """The store as one interchange document (every requested kind, possibly empty)."""
    wanted = set(kinds)
    return {k: export_kind(session, k) for k in KINDS if k in wanted}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _flat(kind: str, doc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in doc.items():
        if key == "certifications":
            out[key] = "|".join(
                f"{c.get('scheme') or ''}:{c.get('level') or ''}:{c.get('valid_until') or ''}"
                for c in value)
        elif isinstance(value, dict) and key != "extra":
            for sub, v in value.items():
                out[f"{key}_{sub}"] = _cell(v)
        else:
            out[key] = _cell(value)
    return out


# One interchange document as a CSV row (column -> cell): the export's flattening, used by
# the import templates too (api.services.import_template).
flat_row = _flat


def export_csv(session: Session, kind: str) -> str:
    """One kind as CSV, with a ``# kind:`` first line so any file name re-imports."""
    buf = io.StringIO()
    buf.write(f"# kind: {kind}\n")
    cols = csv_columns(kind)
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for doc in export_kind(session, kind):
        writer.writerow(_flat(kind, doc))
    return buf.getvalue()
