"""Tracardi: a Customer Data Platform server."""

__version__ = "0.1.0"
