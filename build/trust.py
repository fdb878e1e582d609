"""The TLS roots the frozen function trusts for AWS endpoints.

botocore verifies every connection against its bundled cacert.pem, and the
first HTTPS request of a process parses all of it (126 roots). DynamoDB's
certificate chains, like those of the other AWS endpoints on Amazon Trust
Services, end in one of five roots: Amazon Root CA 1 to 4 and Starfield
Services Root Certificate Authority - G2 (which cross-signs them). The build
embeds only those. Measured with the bench over TLS, 10 cold starts each: the
first request's TLS cost fell from about 18 ms to about 2.5 ms (POST /sessions
99.8 -> 83.2 ms frozen).

A function that reaches endpoints outside Amazon Trust Services through
botocore builds with FREEZE_CA_BUNDLE naming the bundle to embed (botocore's
own cacert.pem restores every root); at run time AWS_CA_BUNDLE overrides the
embedded bundle as it does for stock botocore. A chain to any other root fails
verification with "certificate verify failed", never silently. The runtime's
own OTLP exporter is unaffected: it verifies with the system's trust store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from build.errors import BuildError

# The certifi-style label botocore's bundle puts before each root.
AMAZON_ROOT_LABELS = re.compile(
    r'^# Label: "(Amazon Root CA [1-4]|Starfield Services Root Certificate '
    r'Authority - G2)"$',
    re.MULTILINE,
)
CERT_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", re.DOTALL
)
AMAZON_ROOT_COUNT = 5


def amazon_roots(bundle_text: str) -> list[str]:
    """The PEM blocks of the Amazon roots found in a certifi-style bundle."""
    roots = []
    for label in AMAZON_ROOT_LABELS.finditer(bundle_text):
        block = CERT_BLOCK.search(bundle_text, label.end())
        if block is not None:
            roots.append(block.group(0))

    return roots


def embedded_bundle(botocore_bundle: Path, environ: dict[str, str]) -> bytes:
    """
    The CA bundle the build compiles into the binary.

    Args:
        botocore_bundle: botocore's cacert.pem.
        environ: the build's environment; FREEZE_CA_BUNDLE names another bundle.

    Raises:
        BuildError: FREEZE_CA_BUNDLE names no file, or botocore's bundle lacks
            one of the five Amazon roots (a botocore that changed its format).
    """
    named = environ.get("FREEZE_CA_BUNDLE")
    if named:
        path = Path(named)
        if not path.is_file():
            raise BuildError(f"FREEZE_CA_BUNDLE={named} is not a file")
        return path.read_bytes()

    roots = amazon_roots(botocore_bundle.read_text(encoding="ascii"))
    if len(roots) != AMAZON_ROOT_COUNT:
        raise BuildError(
            f"found {len(roots)} of the {AMAZON_ROOT_COUNT} Amazon roots in "
            f"{botocore_bundle}; set FREEZE_CA_BUNDLE to the bundle to embed"
        )

    return "".join(roots).encode("ascii")


def write_embedded_bundle(botocore_bundle: Path, target: Path) -> bytes:
    """Write the embedded bundle to `target` too (the bench trusts what it holds)."""
    bundle = embedded_bundle(botocore_bundle, dict(os.environ))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bundle)

    return bundle
