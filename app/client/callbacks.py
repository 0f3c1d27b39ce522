"""Calling user callbacks safely.

User callbacks are optional methods on a plain object; only those present are
called.  They run on the event loop's thread.  One that raises is logged and
the session goes on; one that is a coroutine function is scheduled as a task
whose failure is logged the same way.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

logger = logging.getLogger("app.client.callbacks")

_tasks: set[asyncio.Task[Any]] = set()


def call(callbacks: Any, name: str, *args: Any) -> None:
    fn = getattr(callbacks, name, None) if callbacks is not None else None
    if fn is None:
        return
    try:
        result = fn(*args)
    except Exception:
        logger.exception("callback %s raised; the session goes on", name)
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _tasks.add(task)
        task.add_done_callback(lambda t: _finished(name, t))


def _finished(name: str, task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("callback %s raised; the session goes on", name, exc_info=task.exception())
