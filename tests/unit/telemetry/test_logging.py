"""Log lines: JSON fields, text layout, levels, extra fields, exceptions, redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bootstrap.telemetry import logging as bridge
from bootstrap.telemetry.invocation import Telemetry
from bootstrap.telemetry.records import REDACTED, Redactor, log_level, timestamp

from .conftest import TRACEPARENT, XRAY_PARENT, XRAY_ROOT, FakeContext

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE1234567890"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
ENVIRON = {
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_SESSION_TOKEN": SESSION_TOKEN,
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
}
SECRETS = (
    SECRET_KEY,
    SESSION_TOKEN,
    ACCESS_KEY,
    "s3cr3t-b34r3r-t0k3n",
    "c2Vzc2lvbj0xMjM0NQ",
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Root logging through the JSON bridge into a buffer, restored afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    bridge.configure(ENVIRON, stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_json_line_has_every_field_inside_an_invocation(captured: io.StringIO) -> None:
    telemetry = Telemetry("sessions", environ=ENVIRON)
    context = FakeContext(
        "req-42", f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1", tenant_id="t-9"
    )
    scope = telemetry.start_invocation(
        context, {"headers": {"traceparent": TRACEPARENT}}
    )
    logging.getLogger("handler.routes").info("Session %s created", "abc")
    scope.finish()

    (line,) = [
        entry for entry in lines(captured) if entry["logger"] == "handler.routes"
    ]
    assert line["message"] == "Session abc created"
    assert line["level"] == "INFO"
    assert line["requestId"] == "req-42"
    assert line["tenantId"] == "t-9"
    assert line["xrayTraceId"] == XRAY_ROOT
    assert line["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["spanId"] == scope.span.context.span_id
    assert str(line["timestamp"]).endswith("Z")
    assert len(str(line["timestamp"])) == len("2026-01-02T03:04:05.678Z")


def test_line_outside_an_invocation_has_no_request_fields(
    captured: io.StringIO,
) -> None:
    logging.getLogger("init").warning("starting")

    (line,) = lines(captured)
    assert line["level"] == "WARN"
    assert "requestId" not in line
    assert "traceId" not in line


def test_extra_fields_are_kept_and_cannot_replace_standard_ones(
    captured: io.StringIO,
) -> None:
    logging.getLogger("x").info(
        "with extra", extra={"session_id": "s1", "count": 3, "level_hint": None}
    )

    (line,) = lines(captured)
    assert line["session_id"] == "s1"
    assert line["count"] == 3
    assert line["level_hint"] is None
    assert line["level"] == "INFO"


def test_exception_adds_error_type_message_and_stack(captured: io.StringIO) -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("x").exception("lookup failed")

    (line,) = lines(captured)
    assert line["errorType"] == "KeyError"
    assert line["errorMessage"] == "'missing'"
    assert isinstance(line["stackTrace"], list)
    assert any("raise KeyError" in frame for frame in line["stackTrace"])


def test_dict_message_stays_an_object(captured: io.StringIO) -> None:
    logging.getLogger("x").info({"event": "created", "id": 1})

    (line,) = lines(captured)
    assert line["message"] == {"event": "created", "id": 1}


def test_level_from_environment_filters_lines() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        bridge.configure(
            {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"}, stream
        )
        logging.getLogger("x").info("hidden")
        logging.getLogger("x").error("shown")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    assert [line["message"] for line in lines(stream)] == ["shown"]


@pytest.mark.parametrize(
    ("name", "level"),
    [("TRACE", 5), ("debug", 10), ("WARN", 30), ("FATAL", 50), ("", 20), ("loud", 20)],
)
def test_lambda_level_names_map_to_logging_levels(name: str, level: int) -> None:
    assert log_level({"AWS_LAMBDA_LOG_LEVEL": name}) == level


def test_text_format_is_the_managed_runtime_layout() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    telemetry = Telemetry("sessions", environ={"AWS_LAMBDA_LOG_FORMAT": "Text"})
    try:
        bridge.configure({"AWS_LAMBDA_LOG_FORMAT": "Text"}, stream)
        scope = telemetry.start_invocation(FakeContext("req-7"), {})
        logging.getLogger("x").info("two\nlines")
        scope.finish()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    level_field, stamp, request_id, message = stream.getvalue().rstrip("\n").split("\t")
    assert level_field == "[INFO]"
    assert stamp.endswith("Z")
    assert request_id == "req-7"
    assert message == "two\rlines"


def test_concurrency_forces_json() -> None:
    formatter = bridge.make_formatter(
        {"AWS_LAMBDA_LOG_FORMAT": "Text", "AWS_LAMBDA_MAX_CONCURRENCY": "4"}
    )

    assert isinstance(formatter, bridge.JsonFormatter)


def test_secrets_never_reach_a_line(captured: io.StringIO) -> None:
    headers = {
        "Authorization": "Bearer s3cr3t-b34r3r-t0k3n",
        "cookie": "session=c2Vzc2lvbj0xMjM0NQ",
        "x-api-key": "k",
        "accept": "application/json",
    }
    log = logging.getLogger("x")
    log.info("headers %s", headers)
    log.info("event", extra={"headers": headers, "password": "hunter22"})
    log.info("client uses key %s and secret %s", ACCESS_KEY, SECRET_KEY)
    log.info("token %s", SESSION_TOKEN)
    log.info("raw header: Authorization: Bearer s3cr3t-b34r3r-t0k3n")
    try:
        raise PermissionError("denied for " + SECRET_KEY)
    except PermissionError:
        log.exception("failed")

    text = captured.getvalue()
    assert_no_secret(text)
    assert "hunter22" not in text
    entries = lines(captured)
    assert entries[1]["headers"]["accept"] == "application/json"
    assert entries[1]["headers"]["Authorization"] == REDACTED
    assert entries[1]["password"] == REDACTED
    assert "Bearer [REDACTED]" in str(entries[4]["message"])


def test_prose_after_basic_is_not_masked() -> None:
    assert Redactor({}).text("basic validation failed") == "basic validation failed"


def test_timestamps_are_rfc3339_utc_milliseconds() -> None:
    assert timestamp(0.5) == "1970-01-01T00:00:00.500Z"


class HeaderMapping(dict[str, str]):
    """A mapping type of its own, as botocore's HTTPHeaders is."""


def test_lone_mapping_argument_is_redacted_and_formatted(captured: io.StringIO) -> None:
    headers = HeaderMapping({"Authorization": "Bearer s3cr3t-b34r3r-t0k3n", "a": "b"})

    logging.getLogger("botocore.parsers").debug("Response headers: %r", headers)

    (line,) = lines(captured)
    assert "'a': 'b'" in str(line["message"])
    assert_no_secret(captured.getvalue())


def test_mismatched_arguments_still_give_one_json_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(bridge.JsonFormatter(Redactor(ENVIRON)))
    # A logger of its own: pytest's capture handler would raise on this record.
    logger = logging.getLogger("tests.telemetry.isolated")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("%s and %s", "only one")  # noqa: PLE1206 - the case tested
    finally:
        logger.removeHandler(handler)

    (line,) = lines(stream)
    assert "not formatted" in str(line["message"])


def test_sigv4_authorization_inside_a_repr_is_masked() -> None:
    text = (
        "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/"
        "dynamodb/aws4_request, SignedHeaders=host, Signature=abc123', 'a': 'b'}"
    )

    masked = Redactor({}).text(text)

    assert masked == "{'Authorization': b'AWS4-HMAC-SHA256 [REDACTED]', 'a': 'b'}"
