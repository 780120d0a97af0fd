"""Secrets the local stack makes for itself, kept in files only their owner may read (ADR 16).

Nothing here is ever put in a process's arguments or a log line: passwords go to a file written
0600 (PostgreSQL's password file, read by libpq and asyncpg through PGPASSFILE) and to the
database as a SCRAM-SHA-256 verifier computed here, so not even the SQL that sets a password
carries it in clear.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)
PASSWORD_BYTES = 32


def new_password() -> str:
    """A random password: 32 bytes from the OS's generator, URL-safe base64 (43 characters,
    no `:` or `\\`, so it needs no quoting in a password file)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def write_private(path: Path, text: str, *, uid: int = -1, gid: int = -1) -> None:
    """Write `text` to `path`, readable and writable by its owner only (0600) from the moment it
    exists (created with that mode, then replaced atomically); `uid`/`gid` give it to another
    user (the PostgreSQL system user, when we run as root)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
    finally:
        os.close(fd)
    partial.replace(path)


def scram_sha256_verifier(password: str, salt: bytes | None = None) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802 / RFC 7677):
    `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. `ALTER ROLE ... PASSWORD` with
    it sets the password without the clear text reaching the server (or its log)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def read_pgpass(path: Path) -> dict[str, str]:
    """The passwords of a password file written by `pgpass_text`, by role."""
    found: dict[str, str] = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 5 and not line.startswith("#"):
            found[fields[3]] = fields[4]
    return found


def pgpass_text(passwords: dict[str, str]) -> str:
    """A password file (libpq's format) giving each role its password on any host, port and
    database of the server it is used for."""
    return "".join(f"*:*:*:{role}:{password}\n" for role, password in sorted(passwords.items()))


def ensure_passwords(path: Path, roles: tuple[str, ...]) -> dict[str, str]:
    """The password of each of `roles` from the password file `path` (0600), any missing made
    and written there first; one process at a time (several test sessions share the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            passwords = read_pgpass(path)
            missing = [role for role in roles if role not in passwords]
            if missing or stat_mode(path) != 0o600:
                passwords.update({role: new_password() for role in missing})
                write_private(path, pgpass_text(passwords))
            return passwords
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stat_mode(path: Path) -> int:
    """The permission bits of `path` (0 if it does not exist)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0


def ensure_secret_file(path: Path, make: Callable[[], str]) -> Path:
    """`path` (0600) holding a secret `make()` made the first time; one process at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists() or stat_mode(path) != 0o600:
                write_private(path, path.read_text() if path.exists() else make())
            return path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
