"""build.lazy.idna_encode encodes and refuses host names exactly as the idna codec."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from build import freeze
from build.lazy import idna_encode

# Labels around the codec's limits (0, 63 and 64 octets) joined by dots, so
# that generated names reach every branch, not just "no dot at all".
_labels = st.one_of(
    st.text(alphabet="abcxyz019-_", max_size=5),
    st.sampled_from(["", "a" * 63, "a" * 64, "xn--bcher-kva", "127", "[::1]"]),
    st.text(max_size=4),
)
_names = st.lists(_labels, max_size=5).map(".".join)


def codec_result(host: str) -> bytes | str:
    """What the idna codec makes of `host`, or the class of its refusal."""
    try:
        return host.encode("idna")
    except UnicodeError:
        return "UnicodeError"


def stand_in_result(host: str) -> bytes | str:
    try:
        return idna_encode(host)
    except UnicodeError:
        return "UnicodeError"


@given(_names)
@example("")
@example(".")
@example("a..b")
@example("dynamodb.us-east-1.amazonaws.com.")
@example("a" * 63 + "." + "b" * 64)
@example("b\u00fccher.example")
def test_stand_in_encodes_and_refuses_as_the_codec(host: str) -> None:
    assert stand_in_result(host) == codec_result(host)


@pytest.mark.parametrize(
    ("host", "encoded"),
    [
        ("dynamodb.us-east-1.amazonaws.com", b"dynamodb.us-east-1.amazonaws.com"),
        ("127.0.0.1", b"127.0.0.1"),
        ("trailing.dot.", b"trailing.dot."),
        ("b\u00fccher.example", b"xn--bcher-kva.example"),
    ],
)
def test_stand_in_encodes_known_names(host: str, encoded: bytes) -> None:
    assert idna_encode(host) == encoded


def test_ascii_names_do_not_import_the_codec() -> None:
    # The point of the stand-in: the codec loads stringprep and unicodedata.
    probe = (
        "import sys; from build.lazy import idna_encode; "
        "idna_encode('dynamodb.us-east-1.amazonaws.com'); "
        "print(sorted({'encodings.idna', 'stringprep', 'unicodedata'} "
        "& set(sys.modules)))"
    )

    # A fresh interpreter: this one may have loaded the codec already.
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=freeze.ROOT,
    ).stdout

    assert loaded.strip() == "[]"
