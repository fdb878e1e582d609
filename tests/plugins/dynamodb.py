"""Fixtures for the dynamodb; filled in by its owner."""
