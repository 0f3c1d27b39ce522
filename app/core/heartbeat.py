"""The client's heartbeat and silence rule.

While connected the client pings every ``interval`` seconds and counts the link
as lost after ``silence_timeout`` seconds without *any* frame from the server
(a pong, or anything else).  A socket error counts at once, but that is the
driver's news, not this rule's.  Pure: time is passed in.
"""

from __future__ import annotations

import math


class Heartbeat:
    def __init__(self, interval: float = 1.0, silence_timeout: float = 3.0) -> None:
        if interval <= 0 or silence_timeout <= 0:
            raise ValueError("heartbeat interval and silence timeout must be positive")
        self.interval = interval
        self.silence_timeout = silence_timeout
        self.last_received = -math.inf
        self.next_ping = math.inf
        self.running = False

    def start(self, now: float) -> None:
        """The link is (again) known good at ``now``; first ping one interval later."""
        self.running = True
        self.last_received = now
        self.next_ping = now + self.interval

    def stop(self) -> None:
        self.running = False
        self.next_ping = math.inf

    def received(self, now: float) -> None:
        self.last_received = max(self.last_received, now)

    def ping_due(self, now: float) -> bool:
        return self.running and now >= self.next_ping

    def ping_sent(self, now: float) -> None:
        # Schedule from the due time, not from `now`, so a late timer does not drift the
        # cadence; but never schedule into the past after a long stall.
        self.next_ping = max(self.next_ping + self.interval, now + self.interval / 2)

    @property
    def silence_deadline(self) -> float:
        return self.last_received + self.silence_timeout

    def is_lost(self, now: float) -> bool:
        return self.running and now >= self.silence_deadline

    def deadline(self) -> float | None:
        if not self.running:
            return None
        return min(self.next_ping, self.silence_deadline)
