"""The local token issuer: what `onebudget up`, `onebudget login` and the tests sign tokens with.

In production tokens come from an external identity provider (NHS CIS2, Keycloak:
docs/security.md). On one machine `up` plays the issuer so the stack still starts with one
command: an ES256 signing key kept in `<state dir>/issuer/signing-key.pem` (mode 0600, created
on first use), its public half served as a JWKS over HTTP on a loopback port (`serve`), and
short-lived tokens signed with it (`mint`) for the CLI (`onebudget login`), the demo loader,
the dashboard, chaos, bench and the tests. The services never read the key: they verify
against the served JWKS like any issuer's (shared/auth.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from onebudget.shared.auth import AUDIENCE_PREFIX, ORGANISATIONS_CLAIM, ROLE_CLAIM
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identity import Actor, Role
from onebudget.shared.permissions import allowed_roles
from onebudget.shared.runtime.infra import project_state_dir

SERVICES = ("entitlement", "allocation", "payment", "reporting")
ALL_AUDIENCES = tuple(f"{AUDIENCE_PREFIX}{s}" for s in SERVICES)
TOKEN_TTL_S = 900  # a local token lives 15 minutes
JWKS_PATH = "/.well-known/jwks.json"
KEY_FILE = "signing-key.pem"


def issuer_dir() -> Path:
    """Where the local issuer keeps its key: `<state dir>/issuer/` (ONEBUDGET_STATE_DIR)."""
    return project_state_dir() / "issuer"


def token_path() -> Path:
    """Where `onebudget login` keeps the CLI's token: `<state dir>/token` (mode 0600)."""
    return project_state_dir() / "token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalIssuer:
    """An ES256 key pair under `directory` and tokens signed with it, as issuer `issuer`."""

    def __init__(self, directory: Path, issuer: str = "") -> None:
        self.directory = directory
        self.issuer = issuer
        self._key = self._load_or_create(directory / KEY_FILE)
        numbers = self._key.public_key().public_numbers()
        self._public = {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
        # RFC 7638 thumbprint: a new key is a new kid, which is how verifiers see a rotation.
        canonical = json.dumps(self._public, sort_keys=True, separators=(",", ":")).encode()
        self.kid = _b64(hashlib.sha256(canonical).digest())

    @staticmethod
    def _load_or_create(path: Path) -> ec.EllipticCurvePrivateKey:
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            return loaded
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        partial = path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        partial.replace(path)
        return key

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set."""
        return {"keys": [{**self._public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def mint(
        self,
        actor: Actor,
        audiences: Sequence[str] = ALL_AUDIENCES,
        ttl_s: int = TOKEN_TTL_S,
        *,
        now: float | None = None,
        scope: str = "",
        issuer: str | None = None,
    ) -> str:
        """A signed token for `actor`, valid `ttl_s` seconds from `now` (Unix seconds)."""
        issued = int(SYSTEM_CLOCK.now().timestamp() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer if issuer is None else issuer,
            "sub": actor.subject,
            "aud": list(audiences),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_s,
            "jti": str(uuid.uuid4()),
            ROLE_CLAIM: actor.role.value,
            ORGANISATIONS_CLAIM: list(actor.organisations),
            "azp": actor.client_id or "onebudget-local",
        }
        if scope:
            claims["scope"] = scope
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> JwksServer:
        """Serve the JWKS on http://host:port (0: a free port) until `close()`; sets `issuer` to
        that address when it was empty."""
        server = JwksServer(self.jwks(), host, port)
        if not self.issuer:
            self.issuer = server.base_url
        return server


class JwksServer:
    """The JWKS (and a minimal OpenID discovery document) over HTTP, in a daemon thread."""

    def __init__(self, jwks: dict[str, Any], host: str, port: int) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            server_version = "onebudget"
            sys_version = ""

            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self.jwks_url = f"{self.base_url}{JWKS_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwks", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# The role a many-role client (the demo loader, the tests, chaos, bench) acts in for each
# method: the first of these the permission table allows.
ROLE_PREFERENCE = (
    Role.CARE_MANAGER,
    Role.COMMISSIONER_FINANCE,
    Role.COUNCIL_FINANCE,
    Role.CARE_BROKER,
    Role.AUDITOR,
    Role.PLATFORM_OPERATOR,
)


def role_for(method: str) -> Role | None:
    """The role a many-role client acts in to call `method`; None when none may."""
    allowed = allowed_roles(method)
    return next((r for r in ROLE_PREFERENCE if r in allowed), None)


class RoleTokens:
    """A channel token source (shared/channels.TokenSource) for a client that acts, like a
    whole organisation's staff, in whichever role each call needs: the demo loader, chaos,
    bench and the tests. Each token names `organisations` and lives TOKEN_TTL_S; one per role
    is kept until a minute before it expires."""

    def __init__(
        self,
        issuer: LocalIssuer,
        organisations: Iterable[str] | Callable[[], tuple[str, ...]],
        subject: str = "local",
    ) -> None:
        self.issuer = issuer
        fixed = () if callable(organisations) else tuple(organisations)
        self.organisations: Callable[[], tuple[str, ...]] = (
            organisations if callable(organisations) else (lambda: fixed)
        )
        self.subject = subject
        self._tokens: dict[tuple[Role, tuple[str, ...]], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, method: str, _request: Any = None) -> str:
        role = role_for(method)
        if role is None:
            return ""
        organisations = self.organisations()
        with self._lock:
            token, expires = self._tokens.get((role, organisations), ("", 0.0))
            if SYSTEM_CLOCK.now().timestamp() > expires - 60:
                actor = Actor(f"{self.subject}:{role.value}", role, organisations)
                token = self.issuer.mint(actor)
                if len(self._tokens) > 64:
                    self._tokens.clear()
                expires = SYSTEM_CLOCK.now().timestamp() + TOKEN_TTL_S
                self._tokens[(role, organisations)] = (token, expires)
            return token
