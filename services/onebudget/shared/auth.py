"""Who is calling: the bearer token every business call carries, verified at the edge (issue 14).

A caller sends `authorization: Bearer <JWT>` in gRPC metadata. The token is an OpenID Connect /
OAuth 2.0 access token signed by the issuer (ES256 or RS256, never `alg: none` nor an HMAC
algorithm: a verifier never holds a shared secret). Each service checks, with PyJWT (ADR 15):

- the signature, against the issuer's JWKS (fetched once, keys cached by `kid`; a token naming a
  `kid` the cache has not seen refetches the JWKS once, which is how a rotated key is learnt,
  and no more often than every `REFETCH_INTERVAL_S`, so random `kid`s cannot flood the issuer);
- `iss` equals the configured issuer, `aud` contains the service's own audience
  (`onebudget-<service>`: a token for entitlement is refused by payment), `exp` and `nbf` (with
  `LEEWAY_S` of clock skew), and `sub` is present.

The acting identity comes from three claims (docs/security.md says how an external identity
provider maps its own into them): `onebudget_role` (a `Role` other than `system`),
`onebudget_organisations` (ODS / GSS codes), and, for an integration partner, `scope` (the
RPCs its client is registered for, space-separated `<service>.<Method>`).

Refusals are `Unauthenticated` with these stable reasons: TOKEN_MISSING, TOKEN_EXPIRED,
TOKEN_NOT_YET_VALID, TOKEN_AUDIENCE, TOKEN_ISSUER, TOKEN_INVALID (malformed, forged, signed with
a key the issuer does not publish, a disallowed algorithm, or claims that name no valid role).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from onebudget.shared.config import ConfigError, env_url
from onebudget.shared.errors import Unauthenticated, Unavailable
from onebudget.shared.identity import Actor, Role

ALGORITHMS = ("ES256", "RS256")
ROLE_CLAIM = "onebudget_role"
ORGANISATIONS_CLAIM = "onebudget_organisations"
AUDIENCE_PREFIX = "onebudget-"
LEEWAY_S = 30  # clock skew allowed on exp / nbf, seconds
REFETCH_INTERVAL_S = 10.0  # at most one JWKS fetch for unknown kids per this many seconds
KEYS_TTL_S = 900.0  # a cached key is checked against the JWKS again after this long
VERIFIED_TOKENS_MAX = 10_000  # tokens whose verification is remembered (about 10 MB at most)
ORGANISATIONS_MAX = 200
SCOPE_LENGTH_MAX = 4_000
AUTHORIZATION = "authorization"


def audience_for(service: str) -> str:
    """The audience a service accepts: `onebudget-payment` for payment."""
    return f"{AUDIENCE_PREFIX}{service}"


def scope_name(service: str, method: str) -> str:
    """How an integration partner's registered RPC is named in its token's `scope`."""
    return f"{service}.{method}"


@dataclass(frozen=True)
class OidcSettings:
    """Where tokens come from: the issuer (`iss`) and the URL of its JWKS."""

    issuer: str
    jwks_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcSettings | None:
        """ONEBUDGET_OIDC_ISSUER and ONEBUDGET_OIDC_JWKS_URL; None when neither is set (a
        service then refuses to start: every call needs a verified token)."""
        issuer = env.get("ONEBUDGET_OIDC_ISSUER", "").strip()
        jwks = env.get("ONEBUDGET_OIDC_JWKS_URL", "").strip()
        if not issuer and not jwks:
            return None
        if not issuer:
            raise ConfigError("ONEBUDGET_OIDC_ISSUER is not set (ONEBUDGET_OIDC_JWKS_URL is)")
        return cls(issuer, env_url(env, "ONEBUDGET_OIDC_JWKS_URL", ("https", "http")))


def _refuse(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason=reason, message=message)


def bearer_token(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The token of the `authorization: Bearer ...` metadata; raises TOKEN_MISSING."""
    for key, value in metadata or ():
        if key.lower() == AUTHORIZATION and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise _refuse("TOKEN_MISSING", "the authorization metadata is not 'Bearer <token>'")
    raise _refuse("TOKEN_MISSING", "no bearer token: send 'authorization: Bearer <token>'")


def actor_from_claims(claims: Mapping[str, Any]) -> Actor:
    """The Actor a verified token names; raises TOKEN_INVALID for a missing or unknown role
    (`system` is never granted to a token) or malformed organisations."""
    try:
        role = Role(str(claims.get(ROLE_CLAIM, "")))
    except ValueError:
        raise _refuse("TOKEN_INVALID", f"the token's {ROLE_CLAIM} is not a role") from None
    if role is Role.SYSTEM:
        raise _refuse("TOKEN_INVALID", "no token may act as the system")
    organisations = claims.get(ORGANISATIONS_CLAIM, [])
    if isinstance(organisations, str):
        organisations = organisations.split()
    if (
        not isinstance(organisations, list)
        or len(organisations) > ORGANISATIONS_MAX
        or not all(isinstance(o, str) and 0 < len(o) <= 16 for o in organisations)
    ):
        raise _refuse("TOKEN_INVALID", f"the token's {ORGANISATIONS_CLAIM} is malformed")
    scope = claims.get("scope", "")
    extra = {"scope": scope[:SCOPE_LENGTH_MAX]} if isinstance(scope, str) and scope else {}
    return Actor(
        subject=str(claims["sub"]),
        role=role,
        organisations=tuple(organisations),
        client_id=str(claims.get("azp", claims.get("client_id", ""))),
        extra=extra,
    )


class TokenVerifier:
    """Verifies bearer tokens for one service (its audience) against one issuer's JWKS.

    A token seen for the first time costs a header parse, a key look-up and a signature check
    (about 270 µs on the 2-core bench machine, docs/benchmarks.md); the JWKS is fetched (in a
    thread, never blocking the event loop) only for a `kid` not seen yet or a cached key older
    than KEYS_TTL_S. A client sends the same token on every call until it expires, so the
    verified result is remembered, keyed by the whole token (signature included: a changed byte
    is another token), and a repeat costs one dictionary look-up and the expiry check. A
    remembered token is verified in full again once its key's cache entry is older than
    KEYS_TTL_S (a key withdrawn from the JWKS stops being accepted within that time, as for the
    keys themselves) and is refused TOKEN_EXPIRED once `exp` + LEEWAY_S has passed. At most
    VERIFIED_TOKENS_MAX are remembered (the oldest forgotten first).

    `wall_clock` (seconds since the epoch) is injectable for tests; PyJWT uses the real clock
    for the first verification."""

    def __init__(
        self,
        settings: OidcSettings,
        audience: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.audience = audience
        self._wall_clock = wall_clock
        # token -> (its Actor, its exp in seconds since the epoch, its key's kid)
        self._verified: dict[str, tuple[Actor, float, str]] = {}
        self._client = jwt.PyJWKClient(settings.jwks_url, cache_keys=False, lifespan=60, timeout=5)
        self._keys: dict[str, tuple[jwt.PyJWK, float]] = {}
        self._last_fetch = -REFETCH_INTERVAL_S
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Actor:
        """The token's Actor; raises Unauthenticated (reasons in the module docstring), or
        Unavailable (ISSUER_UNAVAILABLE) when the JWKS cannot be fetched."""
        remembered = self._verified.get(token)
        if remembered is not None:
            actor, expires, kid = remembered
            if self._wall_clock() > expires + LEEWAY_S:
                del self._verified[token]
                raise _refuse("TOKEN_EXPIRED", "the bearer token has expired")
            signing_key = self._keys.get(kid)
            if signing_key is not None and time.monotonic() - signing_key[1] < KEYS_TTL_S:
                return actor
            del self._verified[token]  # its key is due a check against the JWKS: in full
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _refuse("TOKEN_INVALID", "the bearer token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise _refuse("TOKEN_INVALID", "the token's algorithm is not allowed")
        key = await self._key(str(header.get("kid", "")))
        if key.algorithm_name not in ALGORITHMS or key.algorithm_name != header["alg"]:
            raise _refuse("TOKEN_INVALID", "the token's algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _refuse("TOKEN_EXPIRED", "the bearer token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _refuse("TOKEN_NOT_YET_VALID", "the bearer token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise _refuse(
                "TOKEN_AUDIENCE", f"the bearer token is not for {self.audience}"
            ) from None
        except jwt.InvalidIssuerError:
            raise _refuse("TOKEN_ISSUER", "the bearer token is from another issuer") from None
        except jwt.InvalidTokenError:
            raise _refuse("TOKEN_INVALID", "the bearer token does not verify") from None
        actor = actor_from_claims(claims)
        self._remember(token, actor, float(claims["exp"]), str(header.get("kid", "")))
        return actor

    def _remember(self, token: str, actor: Actor, expires: float, kid: str) -> None:
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            del self._verified[next(iter(self._verified))]  # the oldest remembered
        self._verified[token] = (actor, expires, kid)

    async def _key(self, kid: str) -> jwt.PyJWK:
        cached = self._keys.get(kid)
        now = time.monotonic()
        if cached is not None and now - cached[1] < KEYS_TTL_S:
            return cached[0]
        async with self._lock:
            cached = self._keys.get(kid)
            if cached is not None and time.monotonic() - cached[1] < KEYS_TTL_S:
                return cached[0]
            if cached is None and time.monotonic() - self._last_fetch < REFETCH_INTERVAL_S:
                raise _refuse("TOKEN_INVALID", "the token's key is not the issuer's")
            self._last_fetch = time.monotonic()
            try:
                keys = await asyncio.to_thread(self._client.get_signing_keys, True)
            except jwt.PyJWKClientError as failure:
                if "signing keys" in str(failure):  # a JWKS with no signing key at all
                    keys = []
                else:
                    raise Unavailable(
                        reason="ISSUER_UNAVAILABLE",
                        message="the token issuer's keys cannot be fetched now",
                    ) from failure
            fetched = time.monotonic()
            self._keys = {k.key_id or "": (k, fetched) for k in keys}
            found = self._keys.get(kid)
            if found is None:
                raise _refuse("TOKEN_INVALID", "the token's key is not the issuer's")
            return found[0]
