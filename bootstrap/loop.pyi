"""The run loop (types and docs of loop.pyx)."""

from collections.abc import Callable
from typing import Any

from bootstrap.client import Invocation, RuntimeClient
from bootstrap.context import FunctionSettings
from bootstrap.telemetry.invocation import Telemetry

class Worker:
    """One next/handle/respond loop over its own RuntimeClient."""

    @property
    def client(self) -> RuntimeClient: ...
    def __init__(
        self,
        client: RuntimeClient,
        handler: Callable[[Any, Any], Any],
        settings: FunctionSettings,
        telemetry: Telemetry | None = None,
    ) -> None: ...
    def run(self) -> int:
        """Serve invokes until the Runtime API breaks; returns the exit code (1)."""
    def handle(self, invocation: Invocation) -> None:
        """
        Run one invoke and post its result or its error.

        Raises:
            RuntimeAPIError: the Runtime API cannot take the post.
        """

def serve(
    runtime_api: str,
    handler: Callable[[Any, Any], Any],
    settings: FunctionSettings,
    concurrency: int = 1,
    telemetry: Telemetry | None = None,
) -> int:
    """Run `concurrency` independent workers; returns the process exit code."""
