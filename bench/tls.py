"""
A local TLS terminator in front of DynamoDB Local, with a CA made for the run.

A real function reaches DynamoDB over HTTPS, and the first request pays for the
handshake and for whatever the client does to its trust store. To measure that
cost instead of hiding it, the bench puts this terminator (its own process, so
it never shares the harness's GIL) between the function and DynamoDB Local and
hands the function a CA bundle through AWS_CA_BUNDLE: verification stays on.

The chain mirrors what DynamoDB serves: a root, an intermediate and an RSA 2048
leaf for 127.0.0.1; the server sends leaf + intermediate. The trust store's
size is part of the cost being measured, so each peer gets the roots it would
trust on Lambda plus the bench root (`bundle_with_roots`); two bundles are also
written to compare every peer on equal terms:

- full: every root of certifi (what stock botocore loads) plus the bench root;
- trimmed: only the roots DynamoDB's real chains end in (Amazon Root CA 1-4,
  Starfield Services G2) plus the bench root.

Run as `python -m bench.tls --cert-dir DIR --upstream-port P`: it prints
"READY <port>" once it listens on 127.0.0.1.
"""

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bench.errors import SetupError
from build.trust import AMAZON_ROOT_COUNT, amazon_roots

PIPE_BYTES = 64 * 1024
START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class TLSMaterial:
    """Where the run's certificates and trust bundles were written."""

    directory: Path
    chain: Path
    key: Path
    root: Path
    bundle_full: Path
    bundle_trimmed: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "coldstart bench"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name | None,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )

    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_material(directory: Path) -> TLSMaterial:
    """
    Generate a root, an intermediate and a leaf, and write both trust bundles.

    Raises:
        SetupError: certifi's bundle does not hold the Amazon roots.
    """
    directory.mkdir(parents=True, exist_ok=True)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("bench root CA", root_key, None, root_key, ca=True)
    middle_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    middle = _certificate(
        "bench intermediate CA", middle_key, root.subject, root_key, ca=True
    )
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _certificate("127.0.0.1", leaf_key, middle.subject, middle_key, ca=False)

    material = TLSMaterial(
        directory=directory,
        chain=directory / "chain.pem",
        key=directory / "key.pem",
        root=directory / "root.pem",
        bundle_full=directory / "bundle-full.pem",
        bundle_trimmed=directory / "bundle-trimmed.pem",
    )
    material.chain.write_bytes(_pem(leaf) + _pem(middle))
    material.key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    material.root.write_bytes(_pem(root))

    certifi_text = Path(certifi.where()).read_text(encoding="ascii")
    amazon = amazon_roots(certifi_text)
    if len(amazon) != AMAZON_ROOT_COUNT:
        raise SetupError(f"found {len(amazon)} Amazon roots in {certifi.where()}")
    root_text = _pem(root).decode("ascii")
    material.bundle_full.write_text(certifi_text + root_text, encoding="ascii")
    material.bundle_trimmed.write_text("".join(amazon) + root_text, encoding="ascii")

    return material


def bundle_with_roots(material: TLSMaterial, roots: Path) -> Path:
    """
    Write a bundle of the given roots plus this run's CA, and return its path.

    This is what a peer trusts in the bench: what it would trust on Lambda,
    and the bench's root so the local terminator's chain verifies. Written on
    every call: each run has a new CA.
    """
    digest = hashlib.sha256(str(roots.resolve()).encode()).hexdigest()[:12]
    bundle = material.directory / f"bundle-{digest}.pem"
    text = roots.read_text(encoding="ascii")
    if text and not text.endswith("\n"):
        text += "\n"
    bundle.write_text(text + material.root.read_text(encoding="ascii"))

    return bundle


class TLSTerminator:
    """
    The terminator as a child process, for `with` blocks.

    `endpoint_url` is "https://127.0.0.1:<port>" once started.
    """

    def __init__(self, material: TLSMaterial, upstream_port: int) -> None:
        self._material = material
        self._upstream_port = upstream_port
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> "TLSTerminator":
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.tls",
                "--cert-dir",
                str(self._material.directory),
                "--upstream-port",
                str(self._upstream_port),
            ],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if self._process.stdout is None:
            raise SetupError("the TLS terminator has no stdout")
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.startswith(b"READY ") and time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if not line:
                break
        if not line.startswith(b"READY "):
            self.__exit__()
            raise SetupError("the TLS terminator did not start")
        self.endpoint_url = f"https://127.0.0.1:{int(line.split()[1])}"

        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes one way until EOF, then close the other side."""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(PIPE_BYTES):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
        writer.close()


async def _serve(cert_dir: Path, upstream_port: int) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_dir / "chain.pem", cert_dir / "key.pem")

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", upstream_port
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, upstream_writer),
            _pipe(upstream_reader, client_writer),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    """Entry point of the terminator process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--cert-dir", type=Path, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.cert_dir, args.upstream_port))


if __name__ == "__main__":
    main()
