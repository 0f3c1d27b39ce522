"""Retry-delay schedules for reconnection attempts.

A schedule is a plain iterable of delays in seconds (websockets' ``backoff()``
shape): each step is the time from one attempt's start to the next one's, and
every attempt uses up one step.  The reconnection machine stops when the
iterator ends or the reconnection window closes, whichever comes first; while
attempts get no answer it may start the next sooner (see ``ClientConnection``'s
``hedge_after``), never later.  Tests pass ``lambda: iter([0, 0, 1])``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator

# A factory, called once per outage so every outage starts the schedule afresh.
BackoffFactory = Callable[[], Iterable[float]]

FIRST_DELAYS = (0.0, 0.25, 0.5, 1.0)
STEADY_DELAY = 1.0
JITTER = 0.2


def default_backoff(rng: Callable[[], float] | None = None) -> Iterator[float]:
    """0, 0.25, 0.5, 1 s, then 1 s ± 20 % forever.

    ``rng`` returns a float in [0, 1); it defaults to :func:`random.random` and is
    injectable so tests get a fixed sequence.  The first attempt is immediate
    because most drops are a socket reset on a link that is still there.
    """
    rand = rng if rng is not None else random.random
    yield from FIRST_DELAYS
    while True:
        yield STEADY_DELAY * (1.0 + JITTER * (2.0 * rand() - 1.0))


def as_factory(schedule: BackoffFactory | Iterable[float] | None) -> BackoffFactory:
    """Normalise what a caller passed as ``backoff=`` into a factory.

    * ``None`` -> :func:`default_backoff`;
    * a callable -> called once per outage;
    * a list or tuple -> replayed from the start on every outage;
    * any other iterable (an iterator, a generator) -> shared by all outages,
      so once it is exhausted later outages give up at once.
    """
    if schedule is None:
        return default_backoff
    if callable(schedule):
        return schedule
    if isinstance(schedule, list | tuple):
        frozen = tuple(float(d) for d in schedule)
        return lambda: iter(frozen)
    shared = iter(schedule)
    return lambda: shared
