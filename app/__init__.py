"""Tether: a desktop video-call app whose calls survive the network."""

__version__ = "0.1.0"
