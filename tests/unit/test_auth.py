"""Bearer token verification (issue 14, shared/auth.py): each way a token can be wrong is
refused UNAUTHENTICATED with its stable reason; keys are cached and a rotated key is learnt."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from onebudget.shared import auth
from onebudget.shared.auth import OidcSettings, TokenVerifier, actor_from_claims, bearer_token
from onebudget.shared.errors import Unauthenticated
from onebudget.shared.identity import Actor, Role
from onebudget.shared.runtime.issuer import JwksServer, LocalIssuer

BROKER = Actor("broker-1", Role.CARE_BROKER, ("QNQ",))
PAYMENT = "onebudget-payment"


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[tuple[LocalIssuer, JwksServer]]:
    local = LocalIssuer(tmp_path / "issuer")
    served = local.serve()
    yield local, served
    served.close()


def _verifier(served: JwksServer, issuer: str) -> TokenVerifier:
    return TokenVerifier(OidcSettings(issuer, served.jwks_url), PAYMENT)


async def _reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    return refused.value.reason


async def test_a_good_token_names_its_actor(issuer: tuple[LocalIssuer, JwksServer]) -> None:
    local, served = issuer
    actor = await _verifier(served, local.issuer).verify(local.mint(BROKER))
    assert (actor.subject, actor.role, actor.organisations) == ("broker-1", BROKER.role, ("QNQ",))


async def test_each_bad_token_is_refused_with_its_reason(
    issuer: tuple[LocalIssuer, JwksServer], tmp_path: Path
) -> None:
    local, served = issuer
    verifier = _verifier(served, local.issuer)
    await verifier.verify(local.mint(BROKER))  # the key is cached from here
    now = time.time()
    assert await _reason(verifier, local.mint(BROKER, now=now - 3600, ttl_s=60)) == (
        "TOKEN_EXPIRED"
    )
    assert await _reason(verifier, local.mint(BROKER, now=now + 3600)) == "TOKEN_NOT_YET_VALID"
    entitlement = local.mint(BROKER, audiences=["onebudget-entitlement"])
    assert await _reason(verifier, entitlement) == "TOKEN_AUDIENCE"
    assert await _reason(verifier, local.mint(BROKER, issuer="https://evil.example")) == (
        "TOKEN_ISSUER"
    )
    unsigned = jwt.encode(
        {"sub": "x", "aud": PAYMENT, "iss": local.issuer, "exp": now + 60}, "", algorithm="none"
    )
    assert await _reason(verifier, unsigned) == "TOKEN_INVALID"
    other = LocalIssuer(tmp_path / "other", local.issuer)  # same issuer name, another key
    assert await _reason(verifier, other.mint(BROKER)) == "TOKEN_INVALID"
    assert await _reason(verifier, "not-a-jwt") == "TOKEN_INVALID"
    system = Actor("s", Role.SYSTEM)
    assert await _reason(verifier, local.mint(system)) == "TOKEN_INVALID"


async def test_a_forged_token_naming_the_real_kid_is_refused(
    issuer: tuple[LocalIssuer, JwksServer], tmp_path: Path
) -> None:
    local, served = issuer
    forger = LocalIssuer(tmp_path / "forger", local.issuer)
    forger.kid = local.kid  # claims to be signed by the issuer's key
    assert await _reason(_verifier(served, local.issuer), forger.mint(BROKER)) == "TOKEN_INVALID"


async def test_an_hmac_token_signed_with_the_public_key_is_refused(
    issuer: tuple[LocalIssuer, JwksServer],
) -> None:
    local, served = issuer
    public = str(local.jwks()["keys"][0])
    claims = {"sub": "x", "aud": PAYMENT, "iss": local.issuer, "exp": time.time() + 60}
    confused = jwt.encode(claims, public, algorithm="HS256", headers={"kid": local.kid})
    assert await _reason(_verifier(served, local.issuer), confused) == "TOKEN_INVALID"


async def test_a_rotated_key_is_fetched_once_and_unknown_kids_do_not_flood_the_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = LocalIssuer(tmp_path / "old")
    served = old.serve()
    verifier = _verifier(served, old.issuer)
    fetches: list[bool] = []
    fetch = verifier._client.get_signing_keys

    def counted(refresh: bool) -> list[jwt.PyJWK]:
        fetches.append(refresh)
        return fetch(refresh)

    monkeypatch.setattr(verifier._client, "get_signing_keys", counted)
    try:
        for _ in range(3):
            await verifier.verify(old.mint(BROKER))
        assert len(fetches) == 1  # one fetch, then the cached key
        new = LocalIssuer(tmp_path / "new", old.issuer)
        assert await _reason(verifier, new.mint(BROKER)) == "TOKEN_INVALID"  # within 10 s
        assert len(fetches) == 1
    finally:
        served.close()
    rotated = new.serve()
    try:
        verifier = _verifier(rotated, old.issuer)
        monkeypatch.setattr(auth, "REFETCH_INTERVAL_S", 0.0)
        assert (await verifier.verify(new.mint(BROKER))).subject == "broker-1"
    finally:
        rotated.close()


def test_the_bearer_token_is_read_from_the_authorization_metadata() -> None:
    assert bearer_token([("x-request-id", "r"), ("authorization", "Bearer abc")]) == "abc"
    for metadata in ([], [("authorization", "Basic abc")], [("authorization", "Bearer ")]):
        with pytest.raises(Unauthenticated) as refused:
            bearer_token(metadata)
        assert refused.value.reason == "TOKEN_MISSING"


def test_claims_name_a_role_and_organisations() -> None:
    actor = actor_from_claims(
        {"sub": "s", auth.ROLE_CLAIM: "auditor", auth.ORGANISATIONS_CLAIM: [], "azp": "c"}
    )
    assert (actor.role, actor.client_id) == (Role.AUDITOR, "c")
    for bad in (
        {auth.ROLE_CLAIM: "root"},
        {auth.ROLE_CLAIM: "auditor", auth.ORGANISATIONS_CLAIM: 7},
    ):
        with pytest.raises(Unauthenticated):
            actor_from_claims({"sub": "s", **bad})


async def test_a_remembered_token_is_refused_once_it_expires(
    issuer: tuple[LocalIssuer, JwksServer],
) -> None:
    local, served = issuer
    now = [time.time()]
    verifier = TokenVerifier(OidcSettings(local.issuer, served.jwks_url), PAYMENT, lambda: now[0])
    token = local.mint(BROKER, now=now[0], ttl_s=60)
    for _ in range(2):  # the second answer is the remembered one
        assert (await verifier.verify(token)).subject == "broker-1"
    now[0] += 60 + auth.LEEWAY_S - 1
    assert (await verifier.verify(token)).subject == "broker-1"  # still inside the leeway
    now[0] += 2
    assert await _reason(verifier, token) == "TOKEN_EXPIRED"
    assert token not in verifier._verified  # forgotten: a later call is verified in full


async def test_a_remembered_token_stops_verifying_when_its_key_leaves_the_jwks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = LocalIssuer(tmp_path / "old")
    served = old.serve()
    verifier = _verifier(served, old.issuer)
    token = old.mint(BROKER)
    assert (await verifier.verify(token)).subject == "broker-1"
    port = served.port
    served.close()
    # The issuer rotates: the same address now publishes only a new key.
    new = LocalIssuer(tmp_path / "new", old.issuer)
    rotated = JwksServer(new.jwks(), "127.0.0.1", port)
    try:
        assert (await verifier.verify(token)).subject == "broker-1"  # key cache still fresh
        monkeypatch.setattr(auth, "KEYS_TTL_S", 0.0)  # the key is due a check against the JWKS
        assert await _reason(verifier, token) == "TOKEN_INVALID"
        assert (await verifier.verify(new.mint(BROKER))).subject == "broker-1"
    finally:
        rotated.close()


async def test_a_token_differing_in_one_byte_is_not_answered_from_memory(
    issuer: tuple[LocalIssuer, JwksServer],
) -> None:
    local, served = issuer
    verifier = _verifier(served, local.issuer)
    token = local.mint(BROKER)
    await verifier.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert await _reason(verifier, f"{header}.{payload}.{flipped}") == "TOKEN_INVALID"


async def test_at_most_verified_tokens_max_are_remembered(
    issuer: tuple[LocalIssuer, JwksServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, served = issuer
    monkeypatch.setattr(auth, "VERIFIED_TOKENS_MAX", 3)
    verifier = _verifier(served, local.issuer)
    tokens = [local.mint(Actor(f"broker-{n}", BROKER.role, ("QNQ",))) for n in range(5)]
    for token in tokens:
        await verifier.verify(token)
    assert list(verifier._verified) == tokens[2:]  # the oldest forgotten first
