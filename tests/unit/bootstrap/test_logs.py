"""The runtime's own log lines: text or JSON, filtered by level."""

import io
import json
from collections.abc import Iterator

import pytest

from bootstrap import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Capture lines; restore the default settings afterwards."""
    captured = io.StringIO()
    yield captured
    logs.configure(logs.LogSettings())


def test_text_lines_have_level_time_request_id_and_one_line_message(
    stream: io.StringIO,
) -> None:
    logs.configure(logs.LogSettings("Text", "INFO", stream))

    logs.get_logger("bootstrap.test").error("failed %s\nsecond", "x", request_id="r-1")

    level, timestamp, request_id, message = stream.getvalue().rstrip("\n").split("\t")
    assert level == "[ERROR]"
    assert timestamp.endswith("Z")
    assert request_id == "r-1"
    assert message == "failed x\rsecond"


def test_json_lines_carry_fields(stream: io.StringIO) -> None:
    logs.configure(logs.LogSettings("JSON", "DEBUG", stream))

    logs.get_logger("bootstrap.test").debug("n=%d", 3, request_id="r-2", extra="e")

    record = json.loads(stream.getvalue())
    assert record["level"] == "DEBUG"
    assert record["message"] == "n=3"
    assert record["logger"] == "bootstrap.test"
    assert record["requestId"] == "r-2"
    assert record["extra"] == "e"


def test_lines_below_the_level_are_not_written(stream: io.StringIO) -> None:
    logs.configure(logs.LogSettings("Text", "WARN", stream))
    logger = logs.get_logger("bootstrap.test")

    logger.info("hidden")
    logger.warning("shown")

    assert "hidden" not in stream.getvalue()
    assert "shown" in stream.getvalue()


def test_concurrency_forces_json() -> None:
    settings = logs.settings_from_environ(
        {"AWS_LAMBDA_LOG_FORMAT": "Text", "AWS_LAMBDA_MAX_CONCURRENCY": "4"}
    )

    assert settings.json
    assert settings.level == logs.LEVELS["INFO"]
