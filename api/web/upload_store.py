"""Uploaded files kept between a preview and its confirmation (the ledger upload; the
import page keeps its files with its job instead, ``api.services.import_jobs``).

The files go to a private temporary directory named by a random token; the token lives in
the user's (signed) session cookie only, so one user can never confirm another's upload.
Files on disk, not in the session or in memory: an upload may be up to 20 files of the
interchange size limit. Uploads older than ``MAX_AGE_S`` are removed on the next save.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

SESSION_KEY = "import_upload"
MAX_AGE_S = 3600


@dataclass
class Upload:
    token: str
    files: list[tuple[str, bytes]]
    on_duplicate: str
    fingerprints: list[str]


def _root() -> Path:
    root = Path(tempfile.gettempdir()) / "sroi-import-uploads"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def _expire(root: Path) -> None:
    cutoff = time.time() - MAX_AGE_S
    for d in root.iterdir():
        try:
            if d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def save(request: Request, files: list[tuple[str, bytes]], on_duplicate: str) -> Upload:
    """Keep the files for this session's user (replacing an earlier pending upload)."""
    discard(request)
    root = _root()
    _expire(root)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    for i, (_, data) in enumerate(files):
        (folder / str(i)).write_bytes(data)
    meta = {"names": [n for n, _ in files], "on_duplicate": on_duplicate, "fingerprints": []}
    (folder / "meta.json").write_text(json.dumps(meta))
    request.session[SESSION_KEY] = token
    return Upload(token, files, on_duplicate, [])


def _folder(request: Request) -> Path | None:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    folder = _root() / token
    return folder if (folder / "meta.json").is_file() else None


def load(request: Request) -> Upload | None:
    """This session's pending upload, or None (none, or expired)."""
    folder = _folder(request)
    if folder is None:
        return None
    meta: dict[str, Any] = json.loads((folder / "meta.json").read_text())
    files = [(name, (folder / str(i)).read_bytes()) for i, name in enumerate(meta["names"])]
    return Upload(folder.name, files, meta["on_duplicate"], list(meta["fingerprints"]))


def remember_preview(request: Request, fingerprints: list[str]) -> None:
    """The change set the user is shown: the confirmation writes only this one."""
    folder = _folder(request)
    if folder is None:
        return
    meta = json.loads((folder / "meta.json").read_text())
    meta["fingerprints"] = fingerprints
    (folder / "meta.json").write_text(json.dumps(meta))


def discard(request: Request) -> None:
    folder = _folder(request)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    request.session.pop(SESSION_KEY, None)
