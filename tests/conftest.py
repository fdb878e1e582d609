"""Shared fixtures: each real component the tests start lives in one plugin."""

pytest_plugins = [
    "tests.plugins.emulator",
    "tests.plugins.dynamodb",
]
