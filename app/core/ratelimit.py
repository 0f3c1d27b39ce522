"""A token bucket with the clock passed in."""

from __future__ import annotations


class TokenBucket:
    """Allows ``burst`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are that many; say whether it did."""
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def available(self, now: float) -> float:
        return min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)

    def full(self, now: float) -> bool:
        """True when the bucket has refilled completely (it can be forgotten)."""
        return self._tokens + max(0.0, now - self._at) * self.rate >= self.burst
