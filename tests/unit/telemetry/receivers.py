"""Local stand-ins for a collector and the X-Ray daemon, bound to 127.0.0.1.

Shared by the unit tests and tests/integration/test_telemetry*.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan


class ReceivedRequest:
    """One request the receiver got."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = headers
        self.body = body

    def decode(self) -> ExportTraceServiceRequest:
        """Decode the body with the official OTLP definitions."""
        return ExportTraceServiceRequest.FromString(self.body)


class OTLPReceiver:
    """
    An OTLP/HTTP endpoint that records requests and answers scripted statuses.

    Args:
        statuses: statuses to answer, in order; 200 once they run out.
    """

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[ReceivedRequest] = []
        self.statuses = list(statuses or [])
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._condition:
                    receiver.requests.append(ReceivedRequest(self.path, headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The traces URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    @property
    def base_endpoint(self) -> str:
        """The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[ReceivedRequest]:
        """Wait until `count` requests arrived (bounded), and return them all."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)

            return list(self.requests)

    def spans(self) -> list[ProtoSpan]:
        """Every span received so far, decoded."""
        return [
            span
            for request in list(self.requests)
            for resource_spans in request.decode().resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def __enter__(self) -> OTLPReceiver:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class UDPReceiver:
    """A UDP socket standing in for the X-Ray daemon."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))

    @property
    def address(self) -> str:
        """The value of AWS_XRAY_DAEMON_ADDRESS."""
        return f"127.0.0.1:{self.socket.getsockname()[1]}"

    def receive(self, count: int, timeout_s: float = 10.0) -> list[bytes]:
        """Receive up to `count` datagrams, waiting at most `timeout_s` in all."""
        deadline = time.monotonic() + timeout_s
        datagrams: list[bytes] = []
        while len(datagrams) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.socket.settimeout(left)
            try:
                datagrams.append(self.socket.recv(65536))
            except TimeoutError:
                break

        return datagrams

    def close(self) -> None:
        self.socket.close()


def split_datagram(datagram: bytes) -> tuple[dict[str, object], dict[str, object]]:
    """Split an X-Ray datagram into its header and its segment document."""
    header, _, document = datagram.partition(b"\n")

    return json.loads(header), json.loads(document)
