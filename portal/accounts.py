"""Portal accounts in ``ops.portal_users``: one agency each, or an operator who sees every agency.

Passwords are hashed with Werkzeug's ``generate_password_hash`` (scrypt, salted); a generated password is
printed once by the command that made it and never stored in clear.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from ground.registry import official_names
from ground.schema import ensure_ops
from ground.warehouse import connect

AGENCY, OPERATOR = "agency", "operator"
MIN_PASSWORD = 12
# A hash to compare against when the user does not exist: a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: str
    agency_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


class AccountError(ValueError):
    """An account that cannot be made as asked (unknown agency, short password, ...)."""


def new_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def add_user(conn: psycopg.Connection, username: str, role: str, agency_id: str | None = None,
             password: str | None = None, reset: bool = False) -> tuple[User, str | None]:
    """Create (or with ``reset`` replace the password of) an account; the generated password when none was
    given (to be shown once), else None."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("a user name is 1 to 64 characters without spaces")
    if role not in (AGENCY, OPERATOR):
        raise AccountError(f"role must be {AGENCY} or {OPERATOR}")
    if role == AGENCY and agency_id not in official_names():
        raise AccountError(f"agency {agency_id!r} is not in the agency registry (dbt_project/seeds/agencies.csv)")
    if role == OPERATOR:
        agency_id = None
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    generated = new_password() if password is None else None
    hashed = generate_password_hash(password or generated or "")
    ensure_ops(conn)
    with conn.transaction():
        row = conn.execute("SELECT user_id FROM ops.portal_users WHERE username = %s", (username,)).fetchone()
        if row and not reset:
            raise AccountError(f"user {username!r} exists already (--reset gives it a new password)")
        if row:
            conn.execute("UPDATE ops.portal_users SET password_hash = %s, role = %s, agency_id = %s, disabled = false "
                         "WHERE user_id = %s", (hashed, role, agency_id, row[0]))
            user_id = row[0]
        else:
            user_id = conn.execute("INSERT INTO ops.portal_users (username, role, agency_id, password_hash) "
                                   "VALUES (%s, %s, %s, %s) RETURNING user_id",
                                   (username, role, agency_id, hashed)).fetchone()[0]
    return User(user_id, username, role, agency_id), generated


def authenticate(conn: psycopg.Connection, username: str, password: str) -> User | None:
    row = conn.execute("SELECT user_id, username, role, agency_id, password_hash FROM ops.portal_users "
                       "WHERE username = %s AND NOT disabled", (username.strip(),)).fetchone()
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return User(*row[:4]) if check_password_hash(row[4], password) else None


def get_user(conn: psycopg.Connection, user_id: int) -> User | None:
    row = conn.execute("SELECT user_id, username, role, agency_id FROM ops.portal_users "
                       "WHERE user_id = %s AND NOT disabled", (user_id,)).fetchone()
    return User(*row) if row else None


def first_operator() -> tuple[str, str | None]:
    """The first operator's name, and its password if it was made just now (else None: it was shown when made)."""
    with connect(autocommit=True) as conn:
        ensure_ops(conn)
        row = conn.execute("SELECT username FROM ops.portal_users WHERE role = 'operator' AND NOT disabled "
                           "ORDER BY user_id LIMIT 1").fetchone()
        if row:
            return row[0], None
        user, password = add_user(conn, "operator", OPERATOR)
        return user.username, password
