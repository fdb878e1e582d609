"""Reports what the frozen process has loaded, so tests can check the recipe.

Imported from source by the frozen runtime (LAMBDA_TASK_ROOT is on sys.path), so
it uses only modules the frozen binary carries.
"""

import hashlib
import hmac
import re
import sys
from typing import Any

from botocore.httpsession import get_cert_path

from handler.client import create_dynamodb_client
from handler.config import Settings


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Create the service's DynamoDB client, then list what the process holds."""
    client = create_dynamodb_client(Settings.from_env())
    # Reading the model is what botocore's data loader exists for.
    operations = client.meta.service_model.operation_names

    # Each line: address perms offset dev inode [pathname]; memory files show
    # as "/memfd:<name> (deleted)".
    with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
        fields = [line.split(maxsplit=5) for line in maps]
    mapped = sorted({entry[5].strip() for entry in fields if len(entry) == 6})

    # The idna codec behind host names needs unicodedata (DESIGN 7).
    try:
        "localhost".encode("idna")
        idna_codec = True
    except LookupError:
        idna_codec = False

    # Which charsets decode: the build drops the CJK codecs (build/__main__.py).
    charsets = {}
    for charset in ("utf-8", "latin-1", "ascii", "cp1252", "shift_jis", "gb2312"):
        try:
            charsets[charset] = "\u00e9".encode(charset, "replace").decode(charset)
        except LookupError as exc:
            charsets[charset] = f"LookupError: {exc}"

    # The CA bundle TLS verification would read on the first HTTPS connection.
    ca_path = get_cert_path(True)
    with open(ca_path, encoding="ascii") as bundle:
        ca_certificates = bundle.read().count("BEGIN CERTIFICATE")

    # Where the runtime's Cython modules came from: linked in ("built-in") or
    # a shared object. The smoke event routes nowhere, so import the event
    # parser here, as the first HTTP event would.
    import bootstrap.http.events  # noqa: F401, PLC0415

    cython_origins = {
        name: getattr(sys.modules[name].__spec__, "origin", None)
        for name in (
            "bootstrap._wire_c",
            "bootstrap.client",
            "bootstrap.loop",
            "bootstrap.http.events",
        )
    }

    # The digests SigV4, checksums and cursors use, from CPython's own
    # modules: the build leaves OpenSSL's _hashlib out (build/freeze.py).
    digests = {
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "sha1": hashlib.sha1(b"abc").hexdigest(),  # noqa: S324 - a known vector
        "md5": hashlib.md5(b"abc").hexdigest(),  # noqa: S324 - a known vector
        "hmac-sha256": hmac.new(b"key", b"abc", hashlib.sha256).hexdigest(),
        "sha256-type": type(hashlib.sha256()).__module__,
    }

    return {
        "ca_path": ca_path,
        "digests": digests,
        "cython_origins": cython_origins,
        "ca_certificates": ca_certificates,
        "operations": list(operations),
        "modules": sorted(sys.modules),
        "json_scanner": type(sys.modules["json"].decoder.scanstring).__name__,
        "no_site": sys.flags.no_site,
        "mapped": mapped,
        "executable": sys.executable,
        "compiled": "__compiled__" in dir(sys.modules["handler.client"]),
        "idna_codec": idna_codec,
        "charsets": charsets,
        # Whose function compiles regular expressions: the build's table
        # (build/precompiled_regex.py) or re's own.
        "regex_compile": re._compile.__module__,  # type: ignore[attr-defined]
    }
