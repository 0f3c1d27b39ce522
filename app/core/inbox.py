"""De-duplication of server messages by their ``seq``.

The server numbers every message that is part of the session's story
(``seq`` 1, 2, 3 … per connection) and replays the unacknowledged ones after a
resume.  A replayed message the client had in fact received must not reach the
application twice: the inbox remembers the highest ``seq`` seen and refuses
anything at or below it.  ``seq == 0`` marks a message outside the story.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class Inbox:
    def __init__(self) -> None:
        self.last_seq = 0  # highest seq accepted; sent back as ping.ack / resume.last_seq
        self.duplicates = 0  # how many messages were dropped as already seen
        self.gaps = 0  # how many times a seq skipped ahead (should never happen on TCP)

    def accept(self, seq: int) -> bool:
        """True if a message with this ``seq`` is new and should be processed."""
        if seq == 0:
            return True
        if seq <= self.last_seq:
            self.duplicates += 1
            logger.debug("dropping duplicate server message seq=%d (last %d)", seq, self.last_seq)
            return False
        if seq != self.last_seq + 1:
            # A gap means the server skipped messages; there is nothing to ask for, so
            # note it and go on rather than stall the session.
            self.gaps += 1
            logger.warning("server seq jumped from %d to %d", self.last_seq, seq)
        self.last_seq = seq
        return True
