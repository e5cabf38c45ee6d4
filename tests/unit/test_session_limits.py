"""Per-connection bounds: a client cannot queue unbounded work behind a slow method."""

from __future__ import annotations

import asyncio

from tests.unit.ddp_harness import connected


def test_flooding_behind_a_slow_method_closes_with_1008_and_drops_the_queue() -> None:
    async def main() -> None:
        conn = await connected(max_queued_messages=5)
        gate = conn.app.extensions["test_gate"]
        conn.feed({"msg": "method", "id": "slow", "method": "t.slow", "params": []})
        runner = asyncio.create_task(conn.session.drain())
        await asyncio.wait_for(gate["started"].wait(), 5)
        # The slow method holds the queue; five more fit, the sixth is one too many.
        for i in range(5):
            assert conn.feed({"msg": "method", "id": f"q{i}", "method": "t.none", "params": []}) is True
        assert not conn.session.closed
        assert conn.feed({"msg": "method", "id": "q5", "method": "t.none", "params": []}) is False
        assert conn.session.closed and conn.session.close_code == 1008
        gate["release"].set()
        await asyncio.wait_for(runner, 5)
        ids = [m.get("id") for m in conn.out() if m.get("msg") == "result"]
        assert not any(i.startswith("q") for i in ids if i)  # nothing queued ran after the close

    asyncio.run(main())


def test_a_queue_at_the_limit_still_runs_every_message_in_order() -> None:
    async def main() -> None:
        conn = await connected(max_queued_messages=5)
        for i in range(5):
            conn.feed({"msg": "method", "id": f"m{i}", "method": "t.none", "params": []})
        await conn.session.drain()
        results = [m["id"] for m in conn.out() if m.get("msg") == "result"]
        assert results == [f"m{i}" for i in range(5)] and not conn.session.closed

    asyncio.run(main())
