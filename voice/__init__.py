"""Lantern: an offline voice companion for two new parents finding their way back to each other."""

__version__ = "0.1.0"
