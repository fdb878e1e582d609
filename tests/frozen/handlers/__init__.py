"""Handlers that report, from inside the frozen bootstrap, how it was built."""
