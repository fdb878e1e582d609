"""Loading the handler named by _HANDLER, and the init errors it reports."""

from pathlib import Path

import pytest

from bootstrap.errors import ErrorType, HandlerLoadError
from bootstrap.loader import load_handler


def test_loads_a_function_from_a_dotted_module() -> None:
    handler = load_handler("tests.handlers.echo.handler", None)

    assert handler.__name__ == "handler"
    assert handler.__module__ == "tests.handlers.echo"


def test_task_root_comes_first_on_the_path(tmp_path: Path) -> None:
    (tmp_path / "task_root_only_module.py").write_text(
        "def handler(event, context):\n    return 'from task root'\n"
    )

    handler = load_handler("task_root_only_module.handler", str(tmp_path))

    assert handler({}, None) == "from task root"


@pytest.mark.parametrize(
    ("name", "error_type"),
    [
        ("no_dot_at_all", ErrorType.MALFORMED_HANDLER_NAME),
        ("", ErrorType.MALFORMED_HANDLER_NAME),
        ("module.", ErrorType.MALFORMED_HANDLER_NAME),
        ("a/b.handler", ErrorType.MALFORMED_HANDLER_NAME),
        ("module_that_does_not_exist.handler", ErrorType.IMPORT_MODULE),
        ("tests.handlers.import_error.handler", ErrorType.IMPORT_MODULE),
        ("tests.handlers.echo.no_such_function", ErrorType.HANDLER_NOT_FOUND),
        ("tests.handlers.failing.OrderRejectedError.x", ErrorType.IMPORT_MODULE),
    ],
)
def test_unloadable_handlers_raise_their_error_type(name: str, error_type: str) -> None:
    with pytest.raises(HandlerLoadError) as caught:
        load_handler(name, None)

    assert caught.value.error_type == error_type


def test_syntax_error_is_reported_as_user_code_syntax(tmp_path: Path) -> None:
    (tmp_path / "broken_syntax_module.py").write_text("def handler(:\n")

    with pytest.raises(HandlerLoadError) as caught:
        load_handler("broken_syntax_module.handler", str(tmp_path))

    assert caught.value.error_type == ErrorType.USER_CODE_SYNTAX


def test_exception_during_module_init_is_an_import_error(tmp_path: Path) -> None:
    (tmp_path / "raising_init_module.py").write_text(
        "raise RuntimeError('no config')\n"
    )

    with pytest.raises(HandlerLoadError, match="no config") as caught:
        load_handler("raising_init_module.handler", str(tmp_path))

    assert caught.value.error_type == ErrorType.IMPORT_MODULE


def test_non_callable_attribute_is_handler_not_found(tmp_path: Path) -> None:
    (tmp_path / "constant_module.py").write_text("handler = 42\n")

    with pytest.raises(HandlerLoadError) as caught:
        load_handler("constant_module.handler", str(tmp_path))

    assert caught.value.error_type == ErrorType.HANDLER_NOT_FOUND
