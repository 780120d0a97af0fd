"""One meaning per request_id (shared/request_keys.py): the spellings of one UUID are one id,
the same request gets the first answer, anything else is refused REQUEST_ID_REUSED."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Violations,
)
from onebudget.shared.request_keys import (
    IdempotencyKey,
    RequestIdOfAnotherCaller,
    RequestIdReused,
    RequestInFlight,
    StoredRequest,
    canonical_request_id,
    check_request_id,
    replay,
    same_caller,
    same_request,
)

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def spellings(canonical: str) -> list[str]:
    """The five spellings of issue 12 (and a mixed-case one)."""
    bare = canonical.replace("-", "")
    return [
        canonical,
        canonical.upper(),
        bare,
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
        "{" + bare.upper() + "}",
        "URN:UUID:" + canonical.upper(),
    ]


@pytest.mark.parametrize("spelling", spellings(ID))
def test_every_accepted_spelling_is_the_canonical_one(spelling: str) -> None:
    assert canonical_request_id(spelling) == ID
    assert check_request_id(spelling, Violations()) == ID


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        ID[:-1],
        ID + "0",
        " " + ID,
        ID + "\n",
        "0x" + ID.replace("-", "")[2:],  # uuid.UUID() takes this one
        ID.replace("-", "_"),  # and this one
        "0f8f-ad5b-d9cb-469f-a165-7086-7728-950e",  # and hyphens anywhere
        "{" + ID,
        ID + "}",
        "urn:uuid:" + ID.replace("-", ""),
        "urn:uuid:{" + ID + "}",
        "uuid:" + ID,
        ID.replace("a", "g"),
        "\uff10" + ID[1:],  # a full-width digit
    ],
)
def test_other_spellings_are_refused(text: str) -> None:
    assert canonical_request_id(text) is None
    v = Violations()
    assert check_request_id(text, v) == ""
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any()
    assert [x.field for x in caught.value.violations] == ["request_id"]


def _release(request_id: str, amount: int = 300, **kw: str) -> api.ReleasePaymentRequest:
    return api.ReleasePaymentRequest(
        request_id=request_id,
        budget_id=kw.get("budget_id", str(uuid.UUID(int=1))),
        plan_line_id=str(uuid.UUID(int=2)),
        payee_id=str(uuid.UUID(int=3)),
        amount_pence=amount,
        broker_reference=kw.get("broker_reference", ""),
    )


def test_the_key_is_the_same_in_every_spelling() -> None:
    keys = {IdempotencyKey.of("ReleasePayment", _release(s)) for s in spellings(ID)}
    assert {(k.request_id, k.method, k.digest) for k in keys} == {
        (ID, "ReleasePayment", IdempotencyKey.of("ReleasePayment", _release(ID)).digest)
    }


def test_the_key_covers_the_method_and_every_field() -> None:
    base = IdempotencyKey.of("ReleasePayment", _release(ID))
    reserve = api.ReservePaymentRequest()
    reserve.ParseFromString(_release(ID).SerializeToString())  # the same fields, byte for byte
    others = [
        IdempotencyKey.of("ReservePayment", reserve),
        IdempotencyKey.of("ReservePayment", _release(ID)),
        IdempotencyKey.of("ReleasePayment", _release(ID, 400)),
        IdempotencyKey.of("ReleasePayment", _release(ID, broker_reference="x")),
        IdempotencyKey.of("ReleasePayment", _release(ID, budget_id=str(uuid.UUID(int=9)))),
    ]
    for other in others:
        with pytest.raises(RequestIdReused):
            same_request(base, other)
    assert len({k.digest for k in [base, *others[1:]]}) == len(others)


def test_a_bad_request_id_has_no_key() -> None:
    with pytest.raises(InvalidArgument):
        IdempotencyKey.of("ReleasePayment", _release("nope"))


def test_reused_is_already_exists_with_its_reason() -> None:
    first = IdempotencyKey.of("ReleasePayment", _release(ID, 300))
    stored = StoredRequest(first.method, first.digest, b"answer")
    with pytest.raises(AlreadyExists) as caught:
        replay(stored, IdempotencyKey.of("ReservePayment", _release(ID, 300)), "a")
    assert caught.value.reason == "REQUEST_ID_REUSED"
    assert caught.value.metadata == {"request_id": ID, "first_method": "ReleasePayment"}


def test_in_flight_only_for_the_same_request() -> None:
    first = IdempotencyKey.of("ReleasePayment", _release(ID, 300))
    pending = StoredRequest(first.method, first.digest, None)
    with pytest.raises(RequestInFlight) as caught:
        replay(pending, first, "a")
    assert isinstance(caught.value, FailedPrecondition)
    assert caught.value.reason == "REQUEST_IN_FLIGHT"
    with pytest.raises(RequestIdReused):
        replay(pending, IdempotencyKey.of("ReleasePayment", _release(ID, 400)), "a")


def test_another_callers_request_id_is_refused_before_anything_is_compared() -> None:
    """Issue 14: a stored answer is given only to the caller who made the first request; any
    other caller (the same payload or not, answered yet or not) is refused PERMISSION_DENIED,
    PERMISSION_DENIED_REQUEST_ID, and told neither the answer nor the first method."""
    first = IdempotencyKey.of("ReleasePayment", _release(ID, 300))
    stored = StoredRequest(first.method, first.digest, b"answer", "broker:a")
    pending = StoredRequest(first.method, first.digest, None, "broker:a")
    assert replay(stored, first, "broker:a") == b"answer"
    other = IdempotencyKey.of("ReservePayment", _release(ID, 999))
    for row, key in ((stored, first), (pending, first), (stored, other)):
        with pytest.raises(PermissionDenied) as caught:
            replay(row, key, "broker:b")
        assert isinstance(caught.value, RequestIdOfAnotherCaller)
        assert caught.value.reason == "PERMISSION_DENIED_REQUEST_ID"
        assert caught.value.metadata == {"request_id": ID}
        assert "answer" not in caught.value.message
    # In one batch too: the second caller's duplicate is refused, the first's retry is not.
    same_caller("broker:a", "broker:a", ID)
    with pytest.raises(RequestIdOfAnotherCaller):
        same_caller("broker:a", "broker:b", ID)


def test_rows_stored_before_the_caller_rule_answer_any_caller_as_before() -> None:
    """A row with no caller (None: stored before the rule) is answered as before."""
    first = IdempotencyKey.of("ReleasePayment", _release(ID, 300))
    old = StoredRequest(first.method, first.digest, b"answer")
    assert replay(old, first, "broker:a") == replay(old, first, "broker:b") == b"answer"
    same_caller(None, "broker:b", ID)


def test_rows_stored_before_the_rule_still_answer_their_retries() -> None:
    """Code before the rule stored SHA-256 of the request as sent (the method apart)."""
    upper = ID.upper()
    sent = _release(upper)
    old = StoredRequest(
        "ReleasePayment",
        hashlib.sha256(sent.SerializeToString(deterministic=True)).digest(),
        b"answer",
    )
    assert replay(old, IdempotencyKey.of("ReleasePayment", sent), "a") == b"answer"
    refused = [
        IdempotencyKey.of("ReleasePayment", _release(ID)),  # another spelling: refused, safe
        IdempotencyKey.of("ReleasePayment", _release(upper, 301)),
        IdempotencyKey.of("ReservePayment", sent),
    ]
    for key in refused:
        with pytest.raises(RequestIdReused):
            replay(old, key, "a")


_uuids = st.uuids().map(str)
_requests = st.builds(
    _release,
    _uuids,
    st.integers(1, 10**6),
    broker_reference=st.sampled_from(["", "a", "b"]),
)
_methods = st.sampled_from(["ReleasePayment", "ReservePayment", "ConfirmPayment"])


def _respell(request: api.ReleasePaymentRequest, how: int) -> api.ReleasePaymentRequest:
    copy = api.ReleasePaymentRequest()
    copy.CopyFrom(request)
    copy.request_id = spellings(request.request_id)[how]
    return copy


@given(
    _methods,
    _requests,
    _methods,
    _requests,
    st.integers(0, 6),
    st.integers(0, 6),
    st.booleans(),
    st.sampled_from(["a", "b", None]),
)
def test_same_key_same_answer_else_refused(
    m1: str,
    r1: api.ReleasePaymentRequest,
    m2: str,
    r2: api.ReleasePaymentRequest,
    spell1: int,
    spell2: int,
    retry: bool,
    first_caller: str | None,
) -> None:
    """For any two requests sharing a request_id (in any accepted spellings): the second gets the
    first's answer exactly when it is of the same caller (or the row has none: stored before the
    caller rule), has the same method and the same canonical payload, in a batch and from the
    store alike; another caller is refused PERMISSION_DENIED_REQUEST_ID whatever it sends,
    otherwise it is refused REQUEST_ID_REUSED."""
    if retry:
        m2, r2 = m1, r1
    r2 = _respell(r2, 0)
    r2.request_id = r1.request_id
    same = m1 == m2 and r1.SerializeToString(deterministic=True) == r2.SerializeToString(
        deterministic=True
    )
    first = IdempotencyKey.of(m1, _respell(r1, spell1))
    second = IdempotencyKey.of(m2, _respell(r2, spell2))
    stored = StoredRequest(first.method, first.digest, b"first answer", first_caller)
    if first_caller == "b":  # the second caller is "a"
        with pytest.raises(RequestIdOfAnotherCaller):
            replay(stored, second, "a")
        with pytest.raises(RequestIdOfAnotherCaller):
            same_caller(first_caller, "a", second.request_id)
    elif same:
        same_request(first, second)
        assert replay(stored, second, "a") == b"first answer"
    else:
        with pytest.raises(RequestIdReused):
            same_request(first, second)
        with pytest.raises(RequestIdReused):
            replay(stored, second, "a")
