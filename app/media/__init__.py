"""Real-time media over aiortc: synthetic sources, encode-once fan-out, peer connections.

This package is part of the client layer: it may import ``app.core``, aiortc and av,
never Qt.  It talks to the session only through :class:`app.media.signalling.Signalling`.
"""
