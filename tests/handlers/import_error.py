"""A module whose import fails: the runtime reports ImportModuleError."""

import module_that_does_not_exist  # noqa: F401


def handler(event: object, context: object) -> object:
    """Never reached."""
    return event
