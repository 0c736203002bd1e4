"""Blocking work (opening the index, retrieval, a model call) off the UI thread.

Textual's thread workers run in asyncio's default executor, which the event loop joins when
the app exits: quitting while a backend hangs would then wait for its timeout. The work here
runs in daemon threads instead, so quitting is always immediate and an abandoned call just ends
unobserved.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def _deliver(future: asyncio.Future, result: object, error: BaseException | None) -> None:
    if future.done():  # the awaiting worker was cancelled (new chat, quit)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def call_soon_from_thread(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    """Schedule callback on the UI loop from a worker thread; a no-op once the app has closed."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop is closed: nobody is listening any more
        pass


async def run_in_background(function: Callable[[], T], name: str = "assistant-work") -> T:
    """Run function in a daemon thread and await its result (or its exception)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def target() -> None:
        try:
            result = function()
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine as is
            call_soon_from_thread(loop, _deliver, future, None, error)
        else:
            call_soon_from_thread(loop, _deliver, future, result, None)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future
