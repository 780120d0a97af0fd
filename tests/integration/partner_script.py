"""A partner's program, run by test_partner_client.py in a bare interpreter (python -I -S) whose
sys.path holds only the client wheel and grpcio / protobuf / googleapis-common-protos: proof that
the client package works alone. Prints one JSON object of what it saw.

argv: wheel path, folder with the third-party packages, payment address, JSON of the ids (and
the CA file and the bearer token to call with).
"""

from __future__ import annotations

import importlib.util
import json
import sys


def main() -> None:
    wheel, site, address, raw = sys.argv[1:5]
    sys.path[:0] = [wheel, site]
    from onebudget_client import OneBudgetError, PaymentClient, RetryPolicy, new_request_id

    ids = json.loads(raw)
    seen: dict[str, object] = {
        "onebudget_importable": importlib.util.find_spec("onebudget") is not None,
        "client_from": __import__("onebudget_client").__file__,
    }
    import grpc

    with open(ids["ca_file"], "rb") as ca:
        credentials = grpc.ssl_channel_credentials(ca.read())
    with PaymentClient.connect(
        address,
        credentials=credentials,
        access_token=ids["access_token"],
        retry=RetryPolicy(attempts=3),
    ) as client:
        request_id = new_request_id()
        terms = {
            "budget_id": ids["budget_id"],
            "plan_line_id": ids["plan_line_id"],
            "payee_id": ids["payee_id"],
            "service_period_start": "2026-05-01",
            "service_period_end": "2026-05-31",
            "broker_reference": "PARTNER-1",
        }
        paid = client.release_payment(amount_pence=333, request_id=request_id, **terms)
        again = client.release_payment(amount_pence=333, request_id=request_id, **terms)
        seen["paid"] = {
            "payment_id": paid.payment_id,
            "state": paid.state,
            "nhs_pence": paid.streams.nhs_pence,
            "council_pence": paid.streams.council_pence,
            "retry_same_payment": again.payment_id == paid.payment_id,
        }
        try:
            client.release_payment(amount_pence=10**9, **terms)
        except OneBudgetError as refused:
            seen["refused"] = {
                "code": refused.code.name,
                "reason": refused.reason,
                "domain": refused.domain,
                "metadata": dict(refused.metadata),
            }
        try:
            client.release_payment(amount_pence=0, **terms)
        except OneBudgetError as bad:
            seen["invalid"] = {
                "code": bad.code.name,
                "fields": [v.field for v in bad.field_violations],
            }
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
