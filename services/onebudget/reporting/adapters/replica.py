"""How far a streaming replica's figures may be behind the primary."""

from __future__ import annotations

import asyncpg

# On a standby: 0 when it has replayed all the WAL it received, else the age of the last
# transaction it replayed (how old the newest figure it shows may be). On a primary: 0.
_READ_LAG_MS = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE coalesce(
        (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0)
END
"""


async def read_lag_ms(pool: asyncpg.Pool) -> int:
    """Milliseconds the replica's figures may be behind the primary (0: caught up)."""
    return int(await pool.fetchval(_READ_LAG_MS))
