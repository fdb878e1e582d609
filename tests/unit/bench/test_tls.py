"""The run's CA, its two trust bundles and the TLS terminator in front of a server."""

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.tls import (
    TLSMaterial,
    TLSTerminator,
    bundle_with_roots,
    make_material,
)

IO_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    return make_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def upstream() -> Iterator[int]:
    """A plain TCP server that answers one request, standing in for DynamoDB."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(IO_TIMEOUT_S)

        def answer_once() -> None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

        thread = threading.Thread(target=answer_once, daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        thread.join(IO_TIMEOUT_S)


def fetch(port: int, context: ssl.SSLContext) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"ok"):
            chunk = tls.recv(4096)
            if not chunk:
                break
            data += chunk

    return data


def test_trimmed_bundle_holds_only_the_amazon_roots_and_the_run_ca(
    material: TLSMaterial,
) -> None:
    trimmed = material.bundle_trimmed.read_text()
    full = material.bundle_full.read_text()
    root = material.root.read_text()

    assert trimmed.count("BEGIN CERTIFICATE") == 6
    assert trimmed.endswith(root)
    assert full.endswith(root)
    assert full.count("BEGIN CERTIFICATE") > 100


def test_terminator_serves_verified_tls_and_forwards_to_the_upstream(
    material: TLSMaterial, upstream: int
) -> None:
    context = ssl.create_default_context(cafile=str(material.bundle_trimmed))

    with TLSTerminator(material, upstream) as terminator:
        port = int(terminator.endpoint_url.rsplit(":", 1)[1])
        answer = fetch(port, context)

    assert terminator.endpoint_url.startswith("https://127.0.0.1:")
    assert answer.endswith(b"ok")


def test_terminator_is_rejected_without_the_run_ca_so_verification_is_real(
    material: TLSMaterial, upstream: int, tmp_path: Path
) -> None:
    only_amazon = tmp_path / "amazon.pem"
    text = material.bundle_trimmed.read_text()
    only_amazon.write_text(text.removesuffix(material.root.read_text()))
    context = ssl.create_default_context(cafile=str(only_amazon))

    with TLSTerminator(material, upstream) as terminator:
        port = int(terminator.endpoint_url.rsplit(":", 1)[1])
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(port, context)


def test_a_peer_trusts_its_own_roots_plus_the_run_ca(
    material: TLSMaterial, tmp_path: Path
) -> None:
    roots = tmp_path / "roots.pem"
    amazon_only = material.bundle_trimmed.read_text().removesuffix(
        material.root.read_text()
    )
    roots.write_text(amazon_only)

    bundle = bundle_with_roots(material, roots)

    assert bundle.read_text() == amazon_only + material.root.read_text()


def test_a_bundle_never_keeps_the_ca_of_an_earlier_run(tmp_path: Path) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_text("")
    first = make_material(tmp_path / "tls")
    first_root = first.root.read_text()
    bundle_with_roots(first, roots)
    second = make_material(tmp_path / "tls")

    bundle = bundle_with_roots(second, roots)

    assert bundle.read_text() == second.root.read_text()
    assert first_root not in bundle.read_text()
