"""Find the handler function named by _HANDLER (`package.module.function`)."""

from __future__ import annotations

import importlib
import sys

from bootstrap.errors import ErrorType, HandlerLoadError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def load_handler(handler_name: str, task_root: str | None) -> Callable[..., Any]:
    """
    Import the handler's module and return the function.

    Args:
        handler_name: `module.function`, the module possibly dotted
            (`handler.app.lambda_handler`).
        task_root: LAMBDA_TASK_ROOT; put first on sys.path, where Lambda has the
            function's code, so it wins over anything else of the same name.

    Returns:
        The callable `fn(event, context)`.

    Raises:
        HandlerLoadError: with the errorType the init error report carries.
    """
    module_name, _, function_name = handler_name.rpartition(".")
    if not module_name or not function_name or "/" in module_name:
        raise HandlerLoadError(
            ErrorType.MALFORMED_HANDLER_NAME,
            f"Bad handler '{handler_name}': expected module.function",
        )

    if task_root and (not sys.path or sys.path[0] != task_root):
        sys.path.insert(0, task_root)

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise HandlerLoadError(
            ErrorType.IMPORT_MODULE,
            f"Unable to import module '{module_name}': {exc}",
        ) from exc
    except SyntaxError as exc:
        raise HandlerLoadError(
            ErrorType.USER_CODE_SYNTAX,
            f"Syntax error in module '{module_name}': {exc}",
        ) from exc
    except Exception as exc:
        # Anything the module raises while it initialises is an import failure.
        raise HandlerLoadError(
            ErrorType.IMPORT_MODULE,
            f"Unable to import module '{module_name}': {type(exc).__name__}: {exc}",
        ) from exc

    function = getattr(module, function_name, None)
    if function is None:
        raise HandlerLoadError(
            ErrorType.HANDLER_NOT_FOUND,
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    if not callable(function):
        raise HandlerLoadError(
            ErrorType.HANDLER_NOT_FOUND,
            f"Handler '{function_name}' on module '{module_name}' is not callable",
        )

    return function  # type: ignore[no-any-return]
