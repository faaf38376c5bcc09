"""Unavoz: one outage feed, every channel telling customers the same truth."""

__version__ = "0.1.0"
