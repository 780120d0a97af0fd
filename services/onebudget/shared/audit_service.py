"""`onebudget.audit.v1.AuditService`: auditors page through a service's audit trail (AIP-132).

Every service serves it for its own trail (`ServiceHost` adds it beside the service's own API), so
no service reads another's tables; `onebudget audit list` asks each and merges by time.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf import timestamp_pb2

from onebudget.audit.v1 import audit_service_pb2 as pb
from onebudget.audit.v1 import audit_service_pb2_grpc as pb_grpc
from onebudget.shared import paging
from onebudget.shared.errors import Violations
from onebudget.shared.identifiers import is_valid_gss_council_code, is_valid_ods_code

SERVICE_NAME = "onebudget.audit.v1.AuditService"


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, pool: asyncpg.Pool, schema: str, service: str) -> None:
        self._pool = pool
        self._schema = schema
        self._service = service

    async def ListAuditRecords(
        self, request: pb.ListAuditRecordsRequest, context: Any
    ) -> pb.ListAuditRecordsResponse:
        v = Violations()
        size = paging.page_size(request.page_size, v)
        org = request.organisation
        v.check(
            not org or is_valid_ods_code(org) or is_valid_gss_council_code(org),
            "organisation",
            "an ODS code (QNQ) or a council GSS code (E10000014)",
        )
        start = request.start_time.ToDatetime() if request.HasField("start_time") else None
        end = request.end_time.ToDatetime() if request.HasField("end_time") else None
        v.check(start is None or end is None or start < end, "end_time", "must be after start_time")
        query = "|".join((org, request.resource, request.subject, str(start or ""), str(end or "")))
        key = paging.decode_token(request.page_token, query, v)
        v.raise_if_any()
        after = int(key[0]) if key else 0
        rows = await self._pool.fetch(
            "SELECT seq, at, subject, role, organisations, client_id, method, request_id,"
            f" resource, outcome, reason, hash FROM {self._schema}.audit_log"
            " WHERE seq > $1 AND ($2 = '' OR $2 = ANY (organisations))"
            " AND ($3 = '' OR resource = $3) AND ($4 = '' OR subject = $4)"
            " AND ($5::timestamp IS NULL OR at >= $5::timestamp AT TIME ZONE 'UTC')"
            " AND ($6::timestamp IS NULL OR at < $6::timestamp AT TIME ZONE 'UTC')"
            " ORDER BY seq LIMIT $7",
            after,
            org,
            request.resource,
            request.subject,
            start,
            end,
            size + 1,
        )
        page = rows[:size]
        records = []
        for r in page:
            when = timestamp_pb2.Timestamp()
            when.FromDatetime(r["at"])
            records.append(
                pb.AuditRecord(
                    seq=r["seq"],
                    time=when,
                    subject=r["subject"],
                    role=r["role"],
                    organisations=r["organisations"],
                    client_id=r["client_id"],
                    method=r["method"],
                    request_id=r["request_id"],
                    resource=r["resource"],
                    outcome=r["outcome"],
                    reason=r["reason"],
                    hash=bytes(r["hash"]),
                )
            )
        token = paging.encode_token([str(page[-1]["seq"])], query) if len(rows) > size else ""
        return pb.ListAuditRecordsResponse(
            records=records, next_page_token=token, service=self._service
        )
