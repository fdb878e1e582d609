"""A TCP proxy on 127.0.0.1 that delays, swallows or resets traffic on demand.

Fault tests put it between a client and a real server (the function and
DynamoDB Local, the runtime and the emulator's Runtime API) and switch its mode
while traffic flows:

    with FaultProxy(("127.0.0.1", upstream_port)) as proxy:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.url
        proxy.mode = Mode.BLACKHOLE    # accept, read, never answer
        proxy.mode = Mode.PASS         # healthy again
        proxy.reset_all()              # RST every open connection now

Modes apply per chunk as it is relayed, so an open keep-alive connection
changes behaviour as soon as the mode does:

- PASS: relay both ways;
- DELAY: relay, each chunk `delay_s` late (a slow network or server);
- BLACKHOLE: accept and read, forward nothing either way (a dead peer whose
  socket is still open: the client's read timeout is the only way out);
- DROP: close every connection with a reset as soon as it carries a byte
  (and new ones at once), so the client sees its connection die mid-request.
"""

from __future__ import annotations

import enum
import select
import socket
import struct
import threading
import time
from types import TracebackType

LOOPBACK = "127.0.0.1"
RELAY_SLICE_BYTES = 65536
# How often an idle relay thread looks at the mode and at `closed`.
POLL_INTERVAL_S = 0.05
# reset_all() waits at most this long per connection (a DELAY relay sleeps).
RESET_WAIT_S = 5.0
HTTP_METHODS = frozenset((b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD"))


class Mode(enum.Enum):
    """What the proxy does with the bytes it relays."""

    PASS = "pass"
    DELAY = "delay"
    BLACKHOLE = "blackhole"
    DROP = "drop"


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a RST, not an orderly FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FaultProxy:
    """
    A loopback TCP proxy to `upstream` whose behaviour tests switch at will.

    Args:
        upstream: (host, port) of the real server.
        delay_s: how late each chunk is relayed in DELAY mode.

    Attributes:
        mode: the current Mode; assign to change it.
        accepted: connections accepted so far.
        resets: connections this proxy has reset.
        bytes_from_client: bytes received from clients (any mode).
        requests_seen: client chunks that start an HTTP request (the clients
            here send each request's head in one write), in any mode.
    """

    def __init__(self, upstream: tuple[str, int], delay_s: float = 0.0) -> None:
        self.upstream = upstream
        self.delay_s = delay_s
        self.mode = Mode.PASS
        self.accepted = 0
        self.resets = 0
        self.bytes_from_client = 0
        self.requests_seen = 0
        self._cut_marker: bytes | None = None
        self._listener = socket.create_server((LOOPBACK, 0))
        self._port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._closed = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="fault-proxy-accept", daemon=True
        )

    @property
    def port(self) -> int:
        """The loopback port clients connect to."""
        return self._port

    @property
    def address(self) -> str:
        """host:port, as AWS_LAMBDA_RUNTIME_API takes it."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """http://host:port, as an endpoint URL."""
        return f"http://{self.address}"

    def start(self) -> FaultProxy:
        """Start accepting connections."""
        self._acceptor.start()

        return self

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._listener.close()
        self.reset_all()
        self._closed.set()

    def reset_all(self) -> int:
        """
        Reset every open connection, both sides; returns how many.

        Returns once each RST is sent: a socket a relay thread is still
        selecting on would only be released (and reset) when the select ends.
        """
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.request_reset()
        for pair in pairs:
            pair.finished.wait(RESET_WAIT_S)

        return len(pairs)

    def cut_after(self, marker: bytes) -> None:
        """
        Once: the next client chunk holding `marker` is forwarded, then its
        connection is reset before any answer can come back (a lost answer).
        """
        self._cut_marker = marker

    def open_connections(self) -> int:
        """Connections currently relayed."""
        with self._lock:
            return len(self._pairs)

    def wait_for_request(self, seen_before: int, timeout_s: float = 10.0) -> bool:
        """Wait (bounded) until a request beyond the first `seen_before` arrives."""
        give_up = time.monotonic() + timeout_s
        while time.monotonic() < give_up:
            if self.requests_seen > seen_before:
                return True
            time.sleep(0.01)

        return False

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- relaying

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode is Mode.DROP:
                _reset(client)
                with self._lock:
                    self.resets += 1
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5.0)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._relay, args=(pair,), daemon=True).start()

    def _relay(self, pair: _Pair) -> None:
        """Copy bytes both ways until a side closes or a reset is due."""
        peers = {pair.client: pair.server, pair.server: pair.client}
        reset = False
        try:
            while not (reset or self._closed.is_set()):
                readable, _, _ = select.select(
                    [*peers, pair.waker], [], [], POLL_INTERVAL_S
                )
                if pair.reset_requested or pair.waker in readable:
                    reset = True
                    break
                for source in readable:
                    data = source.recv(RELAY_SLICE_BYTES)
                    if not data:
                        return
                    if source is pair.client:
                        self.bytes_from_client += len(data)
                        if data.split(b" ", 1)[0] in HTTP_METHODS:
                            self.requests_seen += 1
                    if not self._forward(data, peers[source]):
                        reset = True
                        break
                    if source is pair.client and self._take_cut(data):
                        reset = True
                        break
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._pairs.remove(pair)
                self.resets += int(reset or self._closed.is_set())
            pair.close(reset=reset or self._closed.is_set())

    def _take_cut(self, data: bytes) -> bool:
        """Whether this forwarded chunk triggers the one-shot cut_after()."""
        with self._lock:
            marker = self._cut_marker
            if marker is None or marker not in data:
                return False
            self._cut_marker = None

        return True

    def _forward(self, data: bytes, target: socket.socket) -> bool:
        """Send `data` on as the mode says; False once the pair must be reset."""
        mode = self.mode
        if mode is Mode.DROP:
            return False
        if mode is Mode.BLACKHOLE:
            return True
        if mode is Mode.DELAY:
            time.sleep(self.delay_s)
        target.sendall(data)

        return True


class _Pair:
    """A relayed connection: both sockets, owned and closed by its relay thread."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.reset_requested = False
        self.finished = threading.Event()
        # Wakes the relay's select at once when a reset is requested.
        self.waker, self._wake = socket.socketpair()

    def request_reset(self) -> None:
        """Ask the relay thread to reset both sides now."""
        self.reset_requested = True
        try:
            self._wake.send(b"!")
        except OSError:
            pass

    def close(self, reset: bool) -> None:
        """Close both sides (RST when `reset`, else FIN) and the waker."""
        for sock in (self.client, self.server):
            if reset:
                _reset(sock)
            else:
                sock.close()
        self.waker.close()
        self._wake.close()
        self.finished.set()
