"""Passwords, session cookie, login rate limit, API tokens.

- Passwords: argon2id (argon2-cffi's default type), parameters from the library's
  current recommendation; hashes are rehashed on login when those change.
- Session: Starlette's SessionMiddleware, i.e. an itsdangerous-signed cookie,
  HttpOnly, SameSite=Lax, Secure when ``settings.https``. It holds only the user id,
  the CSRF token and pending flash messages: no secrets, and it is cleared on
  login (no session fixation) and on logout.
- Login attempts are limited per (client IP, e-mail) in Redis or the database, so every
  web process counts the same failures: ``api.shared_state``.
- API tokens are random (256 bits), shown once, stored as sha256: a stolen
  database yields no usable token, and sha256 suffices for random secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from api.settings import Settings

SESSION_COOKIE = "sroi_session"
SESSION_MAX_AGE = 12 * 3600  # a working day; then log in again
TOKEN_PREFIX = "sroi_"

_hasher = PasswordHasher()  # argon2id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A valid hash to verify against when the e-mail is unknown, so a wrong e-mail
# takes as long as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


def verify_dummy(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def session_middleware_options(settings: Settings) -> dict[str, Any]:
    return {
        "secret_key": settings.secret_key,
        "session_cookie": SESSION_COOKIE,
        "max_age": SESSION_MAX_AGE,
        "same_site": "lax",
        "https_only": settings.https,
    }


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def new_api_token() -> tuple[str, str]:
    """A fresh token and its stored hash: (token shown once, sha256 hex)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
