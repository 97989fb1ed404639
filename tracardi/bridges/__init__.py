"""The ``bridges`` role: consumers of external brokers feeding the tracker (not built yet)."""
