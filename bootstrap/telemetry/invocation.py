"""The hooks the runtime calls: one Telemetry per process, one scope per invocation.

    telemetry = Telemetry.from_env()                  # at init
    scope = telemetry.start_invocation(context, event)  # after /next
    ... the handler runs; the router calls annotate_http(...) ...
    scope.finish(error=exc_or_None)                   # before the response is posted
    telemetry.flush()                                 # after it is posted

start_invocation opens the server span (parent from the event's traceparent or
Lambda's X-Ray header, sampling honoured) and makes its ids visible to log
lines; finish ends it, writes the access line and the EMF metrics line; flush
exports what is buffered, so exporting never delays a response.

Exporters are chosen from the environment and imported only when configured:
with neither OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT nor AWS_XRAY_DAEMON_ADDRESS
nothing of otlp, xray, socket or the extension is loaded.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from _thread import RLock

from bootstrap import logs
from bootstrap.telemetry import active
from bootstrap.telemetry.context import (
    Sampler,
    TraceContext,
    XRayHeader,
    find_header,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    parse_xray_header,
    xray_to_context,
)
from bootstrap.telemetry.errors import ExportError, TelemetryConfigError
from bootstrap.telemetry.spans import Span, SpanBuffer, SpanKind, StatusCode, XRayLink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Protocol

    from bootstrap.telemetry.metrics import MetricsWriter
    from bootstrap.telemetry.spans import AttributeValue

    class Exporter(Protocol):
        """What flush() needs of an exporter."""

        def export(self, spans: list[Span]) -> None:
            """Send a batch, or raise ExportError."""


_log = logs.get_logger(__name__)
_access_log = logs.get_logger("bootstrap.access")

# OTLP exporters default to 10 s (OTEL_EXPORTER_OTLP_TIMEOUT); kept here.
_DEFAULT_EXPORT_TIMEOUT_MS = 10_000
_SCOPE_VERSION = "0.1.0"
_SHUTDOWN_EXPORT_TIMEOUT_S = 0.4


def _percent_decode(text: str) -> str:
    """Decode %XX escapes (OTEL_* header and resource lists are percent-encoded)."""
    if "%" not in text:
        return text
    out = bytearray()
    position = 0
    while position < len(text):
        char = text[position]
        if char == "%" and _is_hex(text[position + 1 : position + 3]):
            out += bytes.fromhex(text[position + 1 : position + 3])
            position += 3
        else:
            out += char.encode("utf-8")
            position += 1

    return out.decode("utf-8", "replace")


def _is_hex(text: str) -> bool:
    """Tell whether text is two hex digits."""
    return len(text) == 2 and all(char in "0123456789abcdefABCDEF" for char in text)


def parse_key_values(value: str, setting: str) -> dict[str, str]:
    """
    Parse "key1=value1,key2=value2" as OTEL_EXPORTER_OTLP_HEADERS and
    OTEL_RESOURCE_ATTRIBUTES spell it (values percent-encoded).

    Raises:
        TelemetryConfigError: an entry has no "=" or an empty key.
    """
    pairs: dict[str, str] = {}
    for entry in value.split(","):
        if not entry.strip():
            continue
        key, sep, item = entry.partition("=")
        if not sep or not key.strip():
            # Never echo the value: header lists carry API keys.
            raise TelemetryConfigError(f"{setting} has an entry without key=value")
        pairs[_percent_decode(key.strip())] = _percent_decode(item.strip())

    return pairs


def _status_of(result: object) -> int | None:
    """The statusCode of a proxy response dict or of a streamed prelude."""
    fields = (
        getattr(result, "prelude", None) if not isinstance(result, dict) else result
    )
    status = fields.get("statusCode") if isinstance(fields, dict) else None

    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _looks_like_http(event: object) -> bool:
    """Tell whether an event came from API Gateway, a function URL or ALB."""
    return isinstance(event, dict) and (
        "requestContext" in event or "httpMethod" in event or "routeKey" in event
    )


def _account_id(arn: str) -> str | None:
    """arn:aws:lambda:region:ACCOUNT:function:name -> ACCOUNT."""
    parts = arn.split(":")

    return parts[4] if len(parts) > 5 and parts[4] else None


class InvocationScope:
    """
    One invocation seen by telemetry: its server span, ids, status and timings.

    Made by Telemetry.start_invocation; the router and the DynamoDB hook reach
    the running one through `current_scope()`.
    """

    def __init__(  # noqa: PLR0913, PLR0917 - made in one place, start_invocation
        self,
        telemetry: Telemetry,
        span: Span,
        request_id: str,
        tenant_id: str | None,
        xray: XRayHeader | None,
        cold_start: bool,
    ) -> None:
        self.telemetry = telemetry
        self.span = span
        self.request_id = request_id
        self.tenant_id = tenant_id
        self.xray = xray
        self.cold_start = cold_start
        self.method: str | None = None
        self.route: str | None = None
        self.status_code: int | None = None
        self.dynamodb_latencies_ms: list[float] = []
        self.duration_ms = 0.0
        self.finished = False
        self._start = time.perf_counter()
        self._tokens: tuple[Any, Any] | None = None
        self._otel_token: object = None

    def set_http(
        self, method: str, route: str | None, status_code: int | None = None
    ) -> None:
        """
        Record what the router matched: the method, the route template, the status.

        The server span is renamed "{method} {route}" as the HTTP semantic
        conventions name server spans (the template, never the raw path, so that
        ids in URLs do not explode the number of span names).
        """
        self.method = method
        if route is not None:
            self.route = route
        self.span.set_attribute("http.request.method", method)
        self.span.set_attribute("http.route", self.route)
        self.span.name = f"{method} {self.route}" if self.route else method
        if status_code is not None:
            self.set_status_code(status_code)

    def set_status_code(self, status_code: int) -> None:
        """Record the HTTP status the invocation answers."""
        self.status_code = status_code
        self.span.set_attribute("http.response.status_code", status_code)

    def record_dynamodb_call(self, latency_ms: float) -> None:
        """Count one DynamoDB call's latency for the EMF line."""
        self.dynamodb_latencies_ms.append(latency_ms)

    def finish(
        self,
        status_code: int | None = None,
        error: BaseException | None = None,
        result: object = None,
    ) -> None:
        """
        End the invocation: close the span, write the access and metrics lines.

        Args:
            status_code: the HTTP status, when the caller knows it better than
                what the router recorded.
            error: the exception the handler raised, if any; it marks the span
                as an error and counts as a 5xx.
            result: what the handler returned; an HTTP proxy response's
                statusCode (or a streamed response's prelude's) is the status
                when nothing else said it.

        Calling it twice does nothing the second time.
        """
        if self.finished:
            return
        self.finished = True
        self.duration_ms = (time.perf_counter() - self._start) * 1000.0

        if status_code is None and self.status_code is None:
            status_code = _status_of(result)
        if status_code is not None:
            self.set_status_code(status_code)
        span = self.span
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(StatusCode.ERROR, str(error))
            if span.recording:
                span.record_exception(error)
        elif self.status_code is not None and self.status_code >= 500:
            # Server spans: 5xx are errors; 4xx are the caller's and stay unset.
            span.set_attribute("error.type", str(self.status_code))
            span.set_status(StatusCode.ERROR)
        span.end()

        self.telemetry.record_finish(self, error)
        self._detach()

    def attach(self) -> None:
        """Make this the running invocation of this thread (start_invocation does)."""
        self._tokens = (active.invocation.set(self), active.span.set(self.span))
        if self.telemetry.otel_bridge is not None:
            self._otel_token = self.telemetry.otel_bridge.attach(self.span)

    def _detach(self) -> None:
        """Stop being the running invocation of this thread."""
        if self._tokens is None:
            return
        invocation_token, span_token = self._tokens
        self._tokens = None
        if self._otel_token is not None and self.telemetry.otel_bridge is not None:
            otel_token, self._otel_token = self._otel_token, None
            self.telemetry.otel_bridge.detach(otel_token)
        try:
            active.span.reset(span_token)
            active.invocation.reset(invocation_token)
        except ValueError:
            # finish() ran in another context than start_invocation (a runtime
            # that hands work between threads): clear instead of restoring.
            active.span.set(None)
            active.invocation.set(None)

    def __enter__(self) -> InvocationScope:
        """Use the scope as a context manager: finish() on exit."""
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        """Finish with the exception that ended the block, if any."""
        self.finish(error=exc)


class Telemetry:
    """
    The process's telemetry: settings, span buffer, exporters, metrics writer.

    Build it with from_env(); the constructor takes everything explicitly for
    tests.

    Args:
        function_name: AWS_LAMBDA_FUNCTION_NAME.
        resource: OTLP resource attributes.
        sampler: the sampling policy for traces that start here.
        exporters: the exporters flush() feeds; none means spans are not buffered.
        metrics: the EMF writer, or None when metrics are off.
        propagators: which parents to look for, in order: "tracecontext" (the
            event's traceparent header) and "xray" (Lambda-Runtime-Trace-Id).
        environ: where logging settings are read when the stdlib bridge is
            installed.
    """

    def __init__(  # noqa: PLR0913, PLR0917 - every part is a test seam
        self,
        function_name: str = "",
        resource: Mapping[str, AttributeValue] | None = None,
        sampler: Sampler | None = None,
        exporters: list[Exporter] | None = None,
        metrics: MetricsWriter | None = None,
        propagators: tuple[str, ...] = ("tracecontext", "xray"),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.function_name = function_name
        self.resource = dict(resource or {})
        self.sampler = sampler or Sampler()
        self.exporters = list(exporters or [])
        self.metrics = metrics
        self.propagators = propagators
        self.environ = os.environ if environ is None else environ
        self.buffer = SpanBuffer()
        # Spans get an X-Ray link only when an exporter will send them there.
        self.xray_enabled = any(
            getattr(exporter, "sends_xray", False) for exporter in self.exporters
        )
        self._invocations = itertools.count()
        self._in_flight: set[InvocationScope] = set()
        # Re-entrant: the SIGTERM handler may interrupt the main thread inside.
        self._lock = RLock()
        # Batches being exported right now; SIGTERM may cut an export short.
        self._exporting: list[list[Span]] = []
        self._logging_bridged = False
        self._otel_bridged = False
        # The otel_bridge module once installed, so scopes attach their span.
        self.otel_bridge: Any = None

    @property
    def exporting(self) -> bool:
        """True when some exporter is configured, so spans are buffered."""
        return bool(self.exporters)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Telemetry:
        """
        Build the telemetry the environment asks for.

        Traces: OTLP/HTTP when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
        OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/traces") is set and
        OTEL_TRACES_EXPORTER is not "none"; X-Ray when AWS_XRAY_DAEMON_ADDRESS is
        set and AWS_XRAY_SDK_ENABLED is not "false". OTEL_SDK_DISABLED=true
        turns both off. Metrics: on unless BOOTSTRAP_METRICS=off; namespace from
        BOOTSTRAP_METRICS_NAMESPACE.

        A malformed setting is logged and that part is left off: telemetry never
        stops a function from starting.
        """
        environ = os.environ if environ is None else environ
        function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        resource = _resource(environ, function_name)
        try:
            sampler = Sampler.from_env(environ)
        except TelemetryConfigError as exc:
            _log.error("Tracing uses the default sampler: %s", str(exc))
            sampler = Sampler()

        exporters: list[Exporter] = []
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true":
            for factory in (_otlp_exporter, _xray_exporter):
                try:
                    exporter = factory(environ, resource, function_name)
                except TelemetryConfigError as exc:
                    _log.error("A trace exporter is off: %s", str(exc))
                    continue
                if exporter is not None:
                    exporters.append(exporter)

        metrics = None
        if environ.get("BOOTSTRAP_METRICS", "on").strip().lower() not in (
            "off",
            "0",
            "false",
        ):
            from bootstrap.telemetry.metrics import (  # noqa: PLC0415 - see below
                DEFAULT_NAMESPACE,
                MetricsWriter,
            )

            # metrics is small, but only functions that write EMF need it.
            metrics = MetricsWriter(
                environ.get("BOOTSTRAP_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
                function_name,
            )

        return cls(
            function_name,
            resource,
            sampler,
            exporters,
            metrics,
            _propagators(environ),
            environ,
        )

    def start_invocation(
        self, context: object, event: object, trace_header: str | None = None
    ) -> InvocationScope:
        """
        Open the invocation: server span, parent and sampling, log ids.

        Args:
            context: the Lambda context (aws_request_id, invoked_function_arn,
                tenant_id and trace_id are read from it when present).
            event: the decoded event; HTTP events are searched for traceparent.
            trace_header: Lambda-Runtime-Trace-Id; context.trace_id when None.

        Returns:
            The scope, already the running invocation of this thread.
        """
        self._bridge_logging()
        self._bridge_opentelemetry()
        request_id = str(getattr(context, "aws_request_id", "") or "")
        arn = str(getattr(context, "invoked_function_arn", "") or "")
        tenant_id = getattr(context, "tenant_id", None)
        if trace_header is None:
            trace_header = getattr(context, "trace_id", None)

        xray = parse_xray_header(trace_header)
        parent = self._remote_parent(event, xray)
        if parent is not None:
            trace_id = parent.trace_id
        elif xray is not None:
            # X-Ray named the trace but no parent: keep the trace id, decide here.
            trace_id = xray.trace_id
        else:
            trace_id = new_trace_id()
        sampled = self.sampler.should_sample(trace_id, parent)

        link = None
        if self.xray_enabled and xray is not None and xray.sampled:
            link = XRayLink(xray.root, xray.parent)
        cold_start = next(self._invocations) == 0
        attributes: dict[str, AttributeValue] = {
            "faas.invocation_id": request_id,
            "faas.coldstart": cold_start,
            "faas.trigger": "http" if _looks_like_http(event) else "other",
        }
        if arn:
            attributes["cloud.resource_id"] = arn
            account = _account_id(arn)
            if account:
                attributes["cloud.account.id"] = account
        span = Span(
            self.function_name or "invocation",
            TraceContext(
                trace_id,
                new_span_id(),
                sampled,
                parent.trace_state if parent is not None else "",
            ),
            parent,
            SpanKind.SERVER,
            time.time_ns(),
            attributes,
            sink=self.buffer.add if self.exporters else None,
            xray=link,
        )

        scope = InvocationScope(self, span, request_id, tenant_id, xray, cold_start)
        scope.attach()
        with self._lock:
            self._in_flight.add(scope)
        if _log_enabled(logs.LEVELS["DEBUG"]):
            # Events carry users' data: only at DEBUG, and with credentials masked.
            _log.debug("Invocation event", event=_redacted(event))

        return scope

    def record_finish(
        self, scope: InvocationScope, error: BaseException | None
    ) -> None:
        """Write the access line and the EMF line of a finished invocation."""
        with self._lock:
            self._in_flight.discard(scope)

        status = scope.status_code
        if status is None and error is not None:
            status = 500
        _access_log.info(
            "%s %s %s %.1f ms%s",
            scope.method or "-",
            scope.route or "-",
            status if status is not None else "-",
            scope.duration_ms,
            " (cold start)" if scope.cold_start else "",
            method=scope.method,
            route=scope.route,
            status=status,
            durationMs=round(scope.duration_ms, 3),
            coldStart=scope.cold_start,
            **({"errorType": type(error).__name__} if error is not None else {}),
        )
        if self.metrics is not None:
            properties: dict[str, object] = {"requestId": scope.request_id}
            properties["traceId"] = scope.span.context.trace_id
            if scope.route:
                properties["route"] = scope.route
            self.metrics.write_invocation(
                scope.cold_start,
                scope.duration_ms,
                status,
                scope.dynamodb_latencies_ms,
                properties,
            )

    def flush(self) -> None:
        """
        Export every buffered span; never raises.

        A collector that cannot take the batch for now (unreachable, 429, 5xx)
        gets the same spans again at the next flush, within the buffer's bound;
        anything else is logged and dropped.
        """
        if not self.exporters:
            return
        spans = self.buffer.drain()
        dropped, self.buffer.dropped = self.buffer.dropped, 0
        if dropped:
            _log.warning("%d spans were dropped: the export buffer was full", dropped)
        if not spans:
            return

        with self._lock:
            self._exporting.append(spans)
        try:
            self._export(spans)
        finally:
            with self._lock:
                if spans in self._exporting:
                    self._exporting.remove(spans)

    def _export(self, spans: list[Span]) -> None:
        """Hand one batch to every exporter; keep it when a retry may help."""
        for exporter in self.exporters:
            try:
                exporter.export(spans)
            except ExportError as exc:
                if exc.retryable:
                    _log.warning(
                        "Trace export failed, spans kept for the next flush: %s",
                        str(exc),
                    )
                    retry = [span for span in spans if span.context.sampled]
                    for span in retry:
                        # X-Ray took its copy over UDP already; do not send twice.
                        span.xray = None
                    self.buffer.requeue(retry)
                else:
                    _log.error("Trace export failed, spans dropped: %s", str(exc))
            except Exception as exc:
                _log.error(
                    "Trace exporter %s crashed, spans dropped: %s: %s",
                    type(exporter).__name__,
                    type(exc).__name__,
                    str(exc),
                )

    def enable_shutdown_flush(self, runtime_api: str | None) -> bool:
        """
        Flush on SIGTERM, and register the internal extension that makes Lambda
        send it. Call once at init, from the main thread.

        Only when spans are exported: without exporters nothing is buffered and
        no socket or thread is started.

        Args:
            runtime_api: AWS_LAMBDA_RUNTIME_API ("host:port").

        Returns:
            True when the extension registered (SIGTERM will come).
        """
        if not self.exporters or not runtime_api:
            return False
        from bootstrap.telemetry import extension  # noqa: PLC0415 - exporting only

        extension.install_sigterm_handler(lambda: self.shutdown("SIGTERM"))

        return extension.register_internal_extension(runtime_api) is not None

    def shutdown(self, reason: str = "shutdown") -> None:
        """
        Finish invocations still running and flush: the SIGTERM path.

        Args:
            reason: recorded as the error of invocations cut short.
        """
        with self._lock:
            in_flight = list(self._in_flight)
        for scope in in_flight:
            scope.span.set_status(StatusCode.ERROR, reason)
            scope.span.set_attribute("error.type", reason)
            scope.span.end()
        for exporter in self.exporters:
            # Lambda allows about 500 ms after SIGTERM with internal extensions.
            if getattr(exporter, "timeout_s", 0) > _SHUTDOWN_EXPORT_TIMEOUT_S:
                exporter.timeout_s = _SHUTDOWN_EXPORT_TIMEOUT_S  # type: ignore[attr-defined]
        # A flush the signal interrupted never resumes (the process exits):
        # send its batch again. A batch that did arrive may arrive twice, which
        # a backend shows as one span; a lost one would be gone.
        with self._lock:
            interrupted = [span for batch in self._exporting for span in batch]
            self._exporting.clear()
        if interrupted:
            self.buffer.requeue(interrupted)
        self.flush()

    def _remote_parent(
        self, event: object, xray: XRayHeader | None
    ) -> TraceContext | None:
        """The caller's span, from the first propagator that finds one."""
        for propagator in self.propagators:
            if propagator == "tracecontext" and isinstance(event, dict):
                headers = event.get("headers")
                parent = parse_traceparent(
                    find_header(headers, "traceparent")
                    or find_header(event.get("multiValueHeaders"), "traceparent"),
                    find_header(headers, "tracestate"),
                )
                if parent is not None:
                    return parent
            elif propagator == "xray" and xray is not None:
                parent = xray_to_context(xray)
                if parent is not None:
                    return parent

        return None

    def _bridge_logging(self) -> None:
        """Route stdlib logging through our formatter once something imports it."""
        if self._logging_bridged or "logging" not in sys.modules:
            return
        self._logging_bridged = True
        from bootstrap.telemetry import logging as bridge  # noqa: PLC0415 - below

        # Only now: `logging` costs the cold start several ms, and a handler that
        # never imports it (nor boto3) should not pay for it.
        if not bridge.is_configured():
            bridge.configure(self.environ)

    def _bridge_opentelemetry(self) -> None:
        """Let handler spans made through opentelemetry-api join our traces."""
        if self._otel_bridged or "opentelemetry.trace" not in sys.modules:
            return
        self._otel_bridged = True
        # Only when the handler imported the API itself: it costs the cold
        # start tens of ms, and we never import it on our own.
        from bootstrap.telemetry import otel_bridge  # noqa: PLC0415 - see below

        if otel_bridge.install():
            self.otel_bridge = otel_bridge
        else:
            _log.info("The handler set its own OpenTelemetry tracer provider; kept")


def _log_enabled(level: int) -> bool:
    """Tell whether the runtime's log threshold lets `level` through."""
    return level >= logs._settings.level


def _redacted(event: object) -> object:
    """The event with credentials masked, for the DEBUG line."""
    from bootstrap.telemetry.records import Redactor  # noqa: PLC0415 - DEBUG only

    return Redactor().value(event)


def _propagators(environ: Mapping[str, str]) -> tuple[str, ...]:
    """
    Read OTEL_PROPAGATORS: the order in which parents are looked for.

    "tracecontext" is the event's traceparent, "xray" and "xray-lambda" the
    X-Ray header Lambda passes; others (baggage, b3) are not parents we read.
    """
    value = environ.get("OTEL_PROPAGATORS", "").strip().lower()
    if not value:
        return ("tracecontext", "xray")
    names = []
    for entry in value.split(","):
        name = entry.strip()
        if name == "xray-lambda":
            name = "xray"
        if name in ("tracecontext", "xray") and name not in names:
            names.append(name)

    return tuple(names)


def _resource(
    environ: Mapping[str, str], function_name: str
) -> dict[str, AttributeValue]:
    """The OTLP resource: service, cloud and faas attributes of this function."""
    resource: dict[str, AttributeValue] = {
        "service.name": environ.get("OTEL_SERVICE_NAME")
        or function_name
        or "unknown_service",
        "telemetry.sdk.name": "bootstrap",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": _SCOPE_VERSION,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
    }
    for key, variable in (
        ("cloud.region", "AWS_REGION"),
        ("faas.name", "AWS_LAMBDA_FUNCTION_NAME"),
        ("faas.version", "AWS_LAMBDA_FUNCTION_VERSION"),
        ("faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME"),
    ):
        if environ.get(variable):
            resource[key] = environ[variable]
    memory_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory_mb.isdigit():
        resource["faas.max_memory"] = int(memory_mb) * 1024 * 1024
    if environ.get("AWS_LAMBDA_LOG_GROUP_NAME"):
        resource["aws.log.group.names"] = [environ["AWS_LAMBDA_LOG_GROUP_NAME"]]
    extra = environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if extra:
        try:
            resource.update(parse_key_values(extra, "OTEL_RESOURCE_ATTRIBUTES"))
        except TelemetryConfigError as exc:
            _log.error("Resource attributes ignored: %s", str(exc))
    if environ.get("OTEL_SERVICE_NAME"):
        resource["service.name"] = environ["OTEL_SERVICE_NAME"]

    return resource


def otlp_endpoint(environ: Mapping[str, str]) -> str | None:
    """The traces URL from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or _ENDPOINT."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"

    return None


def _otlp_exporter(
    environ: Mapping[str, str],
    resource: Mapping[str, AttributeValue],
    function_name: str,
) -> Exporter | None:
    """The OTLP exporter, when an endpoint is configured."""
    endpoint = otlp_endpoint(environ)
    if (
        endpoint is None
        or environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none"
    ):
        return None

    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol != "http/protobuf":
        _log.warning(
            "OTLP protocol %s is not supported; exporting with http/protobuf", protocol
        )
    headers = parse_key_values(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        or environ.get("OTEL_EXPORTER_OTLP_HEADERS")
        or "",
        "OTEL_EXPORTER_OTLP_HEADERS",
    )
    timeout_text = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
        or environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
        or ""
    ).strip()
    try:
        timeout_ms = int(timeout_text) if timeout_text else _DEFAULT_EXPORT_TIMEOUT_MS
    except ValueError as exc:
        raise TelemetryConfigError(
            f"OTEL_EXPORTER_OTLP_TIMEOUT {timeout_text!r} is not milliseconds"
        ) from exc

    # Loaded only when exporting: the encoder and transport are not needed else.
    from bootstrap.telemetry import transport  # noqa: PLC0415
    from bootstrap.telemetry.otlp import OTLPExporter  # noqa: PLC0415

    transport.URL(endpoint)  # a malformed endpoint is reported at init, once
    return OTLPExporter(endpoint, headers, timeout_ms / 1000.0, resource)


def _xray_exporter(
    environ: Mapping[str, str],
    resource: Mapping[str, AttributeValue],
    function_name: str,
) -> Exporter | None:
    """The X-Ray exporter, when the daemon address is known."""
    address = environ.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
    if (
        not address
        or environ.get("AWS_XRAY_SDK_ENABLED", "").strip().lower() == "false"
    ):
        return None

    from bootstrap.telemetry.xray import (  # noqa: PLC0415 - only with X-Ray on
        XRayExporter,
        parse_daemon_address,
    )

    return XRayExporter(parse_daemon_address(address), function_name)
