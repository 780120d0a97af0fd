"""Is each part of a local stack ready? The answers `onebudget status` shows beside the services'
own gRPC health (shared/client.health_of), in the same words: SERVING, NOT_SERVING (it answered
and is not ready) or UNREACHABLE (nothing answered in time).
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Sequence

import asyncpg

PROBE_TIMEOUT_S = 2.0
SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"
UNREACHABLE = "UNREACHABLE"


def http_health(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """An HTTP readiness check (the dashboard's `/healthz`, NATS's monitoring `/healthz`): 200 is
    SERVING, another status NOT_SERVING (NATS answers 503 while JetStream is not ready)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:  # noqa: S310 (loopback)
            return SERVING if reply.status == 200 else NOT_SERVING
    except urllib.error.HTTPError:
        return NOT_SERVING
    except (OSError, ValueError):  # refused, timed out, or no URL at all
        return UNREACHABLE


def all_http_health(urls: Sequence[str], timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """Every URL's `http_health` agreeing (a JetStream cluster's nodes); UNREACHABLE for none."""
    answers = {http_health(url, timeout_s) for url in urls}
    if not answers:
        return UNREACHABLE
    return answers.pop() if len(answers) == 1 else NOT_SERVING


def postgres_health(url: str, passfile: str = "", timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """PostgreSQL at `url` (the password from `passfile`, libpq's format) answers a query:
    SERVING; it refused the connection or the query (starting, shutting down, no such role):
    NOT_SERVING; no answer: UNREACHABLE."""

    async def probe() -> str:
        try:
            conn = await asyncpg.connect(url, passfile=passfile or None, timeout=timeout_s)
        except asyncpg.PostgresError:
            return NOT_SERVING
        except (OSError, TimeoutError, ValueError):
            return UNREACHABLE
        try:
            await conn.fetchval("SELECT 1", timeout=timeout_s)
        except (asyncpg.PostgresError, OSError, TimeoutError):
            return NOT_SERVING
        finally:
            await conn.close()
        return SERVING

    return asyncio.run(probe())
