"""A local AWS Lambda: Runtime API server, function process and HTTP front.

Project tooling, never on the function's cold path. `Emulator` runs any
bootstrap command the way the reference Runtime Interface Emulator does.
"""

from emulator.api import Emulator
from emulator.client import InvokeResult, StreamedInvoke
from emulator.errors import EmulatorError, InvokeError
from emulator.server import RuntimeExchange

__all__ = [
    "Emulator",
    "EmulatorError",
    "InvokeError",
    "InvokeResult",
    "RuntimeExchange",
    "StreamedInvoke",
]
