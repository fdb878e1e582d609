"""X-Ray segment documents sent over UDP to the X-Ray daemon.

In Lambda the service itself records the function's segment; what the code
inside adds are subsegments, each sent as its own document ("sending
subsegments separately" in the X-Ray segment document reference)::

    {"format": "json", "version": 1}\\n
    {"name": "...", "id": "<16 hex>", "trace_id": "1-<8 hex>-<24 hex>",
     "parent_id": "<16 hex>", "type": "subsegment", "start_time": 1.5e9,
     "end_time": 1.5e9, "namespace": "aws" | "remote", "http": {...},
     "aws": {...}, "error": bool, "fault": bool, "throttle": bool,
     "cause": {...}, "annotations": {...}, "metadata": {...}}

One datagram per document; the daemon takes at most 64 KiB per datagram. Span
ids are shared with OpenTelemetry, so one operation has one id in both backends.
"""

from __future__ import annotations

from bootstrap import codec, logs
from bootstrap.telemetry.errors import ExportError, TelemetryConfigError
from bootstrap.telemetry.spans import SpanKind, StatusCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _socket import socket as Socket
    from collections.abc import Sequence

    from bootstrap.telemetry.spans import Span


# The runtime's own writer, not stdlib logging: `logging` costs the first
# export tens of ms (re, enum, traceback) in a function that may never load it.
_log = logs.get_logger(__name__)

_HEADER = b'{"format": "json", "version": 1}\n'
_MAX_DATAGRAM_BYTES = 64 * 1024
# Segment names allow letters, digits, whitespace and these symbols, up to 200
# characters; anything else (the braces of a route template) becomes "_".
_NAME_SYMBOLS = frozenset("_.:/%&#=+\\-@ ")
_MAX_NAME_LENGTH = 200


def parse_daemon_address(value: str) -> tuple[str, int]:
    """
    Read AWS_XRAY_DAEMON_ADDRESS: "host:port" or "tcp:host:port udp:host:port".

    Returns:
        The UDP host and port.

    Raises:
        TelemetryConfigError: no usable UDP address in the value.
    """
    address = value.strip()
    for part in address.split():
        if part.startswith("udp:"):
            address = part[4:]
            break
    else:
        if " " in address or address.startswith("tcp:"):
            raise TelemetryConfigError(
                f"AWS_XRAY_DAEMON_ADDRESS {value!r} names no UDP address"
            )

    host, _, port_text = address.rpartition(":")
    try:
        port = int(port_text)
    except ValueError as exc:
        raise TelemetryConfigError(
            f"AWS_XRAY_DAEMON_ADDRESS {value!r} has no valid port"
        ) from exc
    if not host or not 0 < port < 65536:
        raise TelemetryConfigError(
            f"AWS_XRAY_DAEMON_ADDRESS {value!r} is not host:port"
        )

    return host.strip("[]"), port


def segment_name(name: str) -> str:
    """Make a span name acceptable as a segment name."""
    cleaned = "".join(
        char if char.isalnum() or char in _NAME_SYMBOLS else "_" for char in name
    )

    return cleaned[:_MAX_NAME_LENGTH] or "span"


def segment_document(  # noqa: PLR0912 - one branch per optional document field
    span: Span, function_name: str
) -> dict[str, object]:
    """
    Describe one ended span as an X-Ray subsegment document.

    Args:
        span: an ended span with an X-Ray link.
        function_name: names the invocation's subsegment, as X-Ray's service map
            shows the function.

    Returns:
        The document (before JSON encoding).
    """
    if span.xray is None:
        raise ValueError(f"span {span.context.span_id} has no X-Ray link")
    attributes = span.attributes
    is_invocation = span.kind == SpanKind.SERVER
    document: dict[str, object] = {
        "name": segment_name(function_name if is_invocation else span.name),
        "id": span.context.span_id,
        "trace_id": span.xray.root,
        "type": "subsegment",
        "start_time": span.start_ns / 1e9,
        "end_time": span.end_ns / 1e9,
    }
    if span.xray.parent_id:
        document["parent_id"] = span.xray.parent_id

    status = attributes.get("http.response.status_code")
    method = attributes.get("http.request.method")
    if method is not None or status is not None:
        http: dict[str, object] = {}
        if method is not None:
            http["request"] = {"method": method}
        if status is not None:
            http["response"] = {"status": status}
        document["http"] = http

    if attributes.get("rpc.system") == "aws-api":
        document["name"] = str(attributes.get("rpc.service", "AWS"))
        document["namespace"] = "aws"
        aws: dict[str, object] = {"operation": attributes.get("rpc.method", "")}
        tables = attributes.get("aws.dynamodb.table_names")
        if isinstance(tables, (list, tuple)) and tables:
            aws["table_name"] = tables[0]
            if len(tables) > 1:
                aws["table_names"] = list(tables)
        for key, field in (
            ("cloud.region", "region"),
            ("aws.request_id", "request_id"),
            ("aws.retries", "retries"),
        ):
            if key in attributes:
                aws[field] = attributes[key]
        document["aws"] = aws
    elif span.kind == SpanKind.CLIENT:
        document["namespace"] = "remote"

    if isinstance(status, int):
        # X-Ray: error for 4xx, throttle for 429 as well, fault for 5xx.
        document["error"] = 400 <= status < 500
        document["throttle"] = status == 429
        document["fault"] = status >= 500
    elif span.status_code == StatusCode.ERROR:
        document["fault"] = True

    exceptions = [
        {
            "id": span.context.span_id,
            "type": event.attributes.get("exception.type", ""),
            "message": event.attributes.get("exception.message", ""),
        }
        for event in span.events
        if event.name == "exception"
    ]
    if exceptions:
        document["fault"] = True
        document["cause"] = {"exceptions": exceptions}

    annotations = {
        key.replace(".", "_"): value
        for key, value in attributes.items()
        if key in ("http.route", "faas.coldstart", "faas.invocation_id")
    }
    if annotations:
        document["annotations"] = annotations

    return document


class XRayExporter:
    """
    Sends X-Ray-sampled spans to the daemon as UDP datagrams.

    Args:
        address: the daemon's UDP host and port.
        function_name: the name of the invocation subsegments.
    """

    sends_xray = True

    def __init__(self, address: tuple[str, int], function_name: str) -> None:
        self.address = address
        self.function_name = function_name or "function"
        self._socket: Socket | None = None

    def export(self, spans: Sequence[Span]) -> None:
        """
        Send one document per X-Ray-sampled span.

        Raises:
            ExportError: the datagram could not be sent (UDP gives no delivery
                receipt, so an unreachable daemon is not an error here).
        """
        documents = [
            segment_document(span, self.function_name)
            for span in spans
            if span.xray is not None
        ]
        if not documents:
            return

        sock = self._socket
        if sock is None:
            # The C module: `socket` turns its constants into enums on import,
            # which cost the first invoke's flush (and so the next invoke's
            # wait) several ms when nothing else had imported it. sendto is
            # the same call.
            import _socket  # noqa: PLC0415 - cold path: first X-Ray export only

            sock = self._socket = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)

        for document in documents:
            datagram = _HEADER + codec.dumps(document)
            if len(datagram) > _MAX_DATAGRAM_BYTES:
                _log.warning(
                    "X-Ray document for span %s is %d bytes, over the daemon's "
                    "64 KiB limit; it is dropped",
                    document["id"],
                    len(datagram),
                )
                continue
            try:
                sock.sendto(datagram, self.address)
            except OSError as exc:
                raise ExportError(
                    f"cannot send to the X-Ray daemon: {exc}",
                    endpoint="udp:{}:{}".format(*self.address),
                ) from exc
