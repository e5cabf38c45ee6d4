"""The transport shortcuts produce exactly what the general path would."""

from __future__ import annotations

import asyncio

import pytest
from websockets.frames import Frame, Opcode

from ddp_e2e.server.fastpath import run_inline, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_is_byte_identical_to_websockets_serializer(size: int) -> None:
    payload = ("é" * (size // 2) + "x" * (size % 2)).encode()
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def test_run_inline_finishes_without_a_task_when_nothing_suspends() -> None:
    async def main() -> None:
        done: list[int] = []

        async def quick() -> None:
            done.append(1)

        assert run_inline(quick(), asyncio.get_running_loop()) is None
        assert done == [1]

    asyncio.run(main())


def test_run_inline_hands_a_suspended_coroutine_to_a_task_that_sees_results_and_errors() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        seen: list[object] = []

        async def waits() -> None:
            seen.append(await fut)
            await asyncio.sleep(0)  # a bare yield inside the delegated coroutine
            try:
                await loop.create_future()  # cancelled below: the error must reach this frame
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        task = run_inline(waits(), loop)
        assert task is not None and seen == []
        fut.set_result(42)
        for _ in range(5):
            await asyncio.sleep(0)
        assert seen == [42]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == [42, "cancelled"]

    asyncio.run(main())
