"""The client's outbox: every request that needs the server's acknowledgement.

Each request (a signal, a publish, an rtc relay …) gets a client sequence
number ``csq`` and lives here until the server acknowledges it (``sent``) or it
fails with a code.  While the link is down, requests wait as ``queued`` if
their ``retry_after_reconnect`` is true; after a ``resumed`` every request with
``csq > last_csq`` is sent again, in order, and the server's duplicate check
makes a resend harmless.  The outbox is bounded: a request that does not fit
is refused with :data:`ErrorCode.SIGNAL_QUEUE_FULL` — never dropped silently.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core import protocol
from app.core.errors import ErrorCode, TetherError

MAX_PENDING = 1000
MAX_PENDING_BYTES = 1_000_000


class EntryState(enum.Enum):
    QUEUED = "queued"  # waiting for a link
    SENT = "sent"  # written to a socket, no answer yet (the public "sent" needs the ack)
    ACKED = "acked"
    FAILED = "failed"


@dataclass
class Entry:
    request_id: int
    kind: str
    csq: int
    message: Any
    size: int
    retry_after_reconnect: bool
    state: EntryState = EntryState.QUEUED
    code: int | None = None
    reason: str = ""
    stream_id: str | None = None


class Outbox:
    def __init__(self, max_pending: int = MAX_PENDING, max_bytes: int = MAX_PENDING_BYTES) -> None:
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.next_csq = 1
        self._entries: dict[int, Entry] = {}  # by csq, in csq order (dicts keep insertion order)
        # The entries waiting for a link, in csq order, so that sending one request does
        # not scan the hundreds in flight.  An entry finished while waiting is skipped.
        self._waiting: deque[Entry] = deque()
        self._bytes = 0

    # --- adding ------------------------------------------------------------------------

    def enqueue(
        self,
        request_id: int,
        kind: str,
        build: Callable[[int], Any],
        *,
        retry_after_reconnect: bool,
    ) -> Entry:
        """Number a new request and hold it as ``queued``.

        ``build(csq)`` makes the protocol message.  Raises :class:`TetherError`
        ``SIGNAL_QUEUE_FULL`` (and numbers nothing) when the outbox is full.
        """
        csq = self.next_csq
        message = build(csq)
        size = len(protocol.encode(message))
        if len(self._entries) >= self.max_pending:
            raise TetherError(
                ErrorCode.SIGNAL_QUEUE_FULL,
                f"{len(self._entries)} requests are already waiting; the limit is "
                f"{self.max_pending}. Wait for the session to reconnect or send fewer.",
            )
        if self._bytes + size > self.max_bytes:
            raise TetherError(
                ErrorCode.SIGNAL_QUEUE_FULL,
                f"{self._bytes} bytes of requests are already waiting; the limit is "
                f"{self.max_bytes}. Wait for the session to reconnect or send less.",
            )
        entry = Entry(request_id, kind, csq, message, size, retry_after_reconnect)
        self._entries[csq] = entry
        self._waiting.append(entry)
        self._bytes += size
        self.next_csq += 1
        return entry

    # --- sending -----------------------------------------------------------------------

    def take_queued(self) -> list[Entry]:
        """All queued entries, in csq order, now marked ``sent``."""
        out = [e for e in self._waiting if e.state is EntryState.QUEUED]
        self._waiting.clear()
        for entry in out:
            entry.state = EntryState.SENT
        return out

    def link_lost(self) -> None:
        """Nothing changes: what was in flight is settled by the next ``resumed``."""

    def resumed(self, last_csq: int) -> list[Entry]:
        """Apply the server's ``last_csq`` after a resume.

        Entries above it never reached the server: those that may be retried go
        back to ``queued`` (the caller then sends :meth:`take_queued`); the others
        fail with ``NOT_CONNECTED`` and are returned.  Entries at or below it were
        processed; their outcome arrives in the replay (see :meth:`settle`).
        """
        failed = []
        for entry in list(self._entries.values()):
            if entry.csq <= last_csq:
                continue
            if entry.retry_after_reconnect:
                entry.state = EntryState.QUEUED
            else:
                failed.append(
                    self._finish(
                        entry,
                        EntryState.FAILED,
                        ErrorCode.NOT_CONNECTED,
                        "the link was lost before the server received it",
                    )
                )
        self._waiting = deque(e for e in self._entries.values() if e.state is EntryState.QUEUED)
        return failed

    def settle(self, last_csq: int) -> list[Entry]:
        """After a replay: requests the server processed but whose ack was not seen are sent."""
        done = []
        for entry in list(self._entries.values()):
            if entry.csq <= last_csq and entry.state is EntryState.SENT:
                done.append(self._finish(entry, EntryState.ACKED, None, ""))
        return done

    # --- answers -----------------------------------------------------------------------

    def ack(self, csq: int, stream_id: str | None = None) -> Entry | None:
        entry = self._entries.get(csq)
        if entry is None:
            return None
        entry.stream_id = stream_id
        return self._finish(entry, EntryState.ACKED, None, "")

    def error(self, csq: int, code: int, message: str) -> Entry | None:
        entry = self._entries.get(csq)
        if entry is None:
            return None
        return self._finish(entry, EntryState.FAILED, code, message)

    def fail_all(self, code: int, reason: str) -> list[Entry]:
        """Fail every pending entry (the session ended), in csq order."""
        return [
            self._finish(e, EntryState.FAILED, code, reason) for e in list(self._entries.values())
        ]

    def _finish(self, entry: Entry, state: EntryState, code: int | None, reason: str) -> Entry:
        del self._entries[entry.csq]
        self._bytes -= entry.size
        entry.state = state
        entry.code = code
        entry.reason = reason
        return entry

    # --- reading -----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._entries)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    @property
    def queued(self) -> int:
        return sum(1 for e in self._waiting if e.state is EntryState.QUEUED)

    @property
    def in_flight(self) -> int:
        return len(self._entries) - self.queued  # held entries are queued or sent

    def entries(self) -> list[Entry]:
        return list(self._entries.values())
