"""The self-started servers are real and usable."""

from __future__ import annotations

import asyncpg
import nats

from onebudget.shared import bus
from tests.conftest import FreshDatabase


async def test_postgres_answers(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        assert (await conn.fetchval("SELECT 1 + 1")) == 2
    finally:
        await conn.close()


async def test_fresh_database_is_empty(fresh_database: FreshDatabase) -> None:
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert count == 0
    finally:
        await conn.close()


async def test_nats_has_jetstream(nats_url: str) -> None:
    nc = await nats.connect(nats_url, **bus.auth_options())
    try:
        info = await nc.jetstream().account_info()
        assert info.limits is not None
    finally:
        await nc.close()
