"""JSON through the _json accelerator: same output as json, clear errors."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from bootstrap import codec
from bootstrap.errors import BootstrapError, CodecError


def test_dumps_is_compact_utf8_with_non_ascii_kept() -> None:
    value = {"name": "Zoë", "n": [1, 2.5, None, True], "emoji": "🙂"}

    assert codec.dumps(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def test_dumps_writes_decimals_as_numbers() -> None:
    assert codec.dumps({"i": Decimal("3"), "f": Decimal("1.25")}) == b'{"i":3,"f":1.25}'


@pytest.mark.parametrize(
    "value",
    [object(), float("nan"), float("inf"), {1j: 1}, Decimal("NaN"), "\ud800"],
    ids=["object", "nan", "infinity", "complex-key", "decimal-nan", "lone-surrogate"],
)
def test_dumps_refuses_values_without_json_form(value: object) -> None:
    with pytest.raises(CodecError):
        codec.dumps(value)


def test_dumps_refuses_cycles() -> None:
    looped: list[object] = []
    looped.append(looped)

    with pytest.raises(CodecError, match="Circular"):
        codec.dumps(looped)


@pytest.mark.parametrize("data", [b' {"a": [1, "\\u00e9"]} ', '{"a":[1,"é"]}'])
def test_loads_accepts_bytes_and_text(data: bytes | str) -> None:
    assert codec.loads(data) == {"a": [1, "é"]}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"{",
        b"[1,]",
        b'{"a" 1}',
        b'"open',
        b"1 2",
        b"NaN",
        b"-Infinity",
        b"\xff\xfe",
        b"[" * 100_000,
    ],
    ids=[
        "empty",
        "blank",
        "open-object",
        "trailing-comma",
        "missing-colon",
        "open-string",
        "extra-data",
        "nan",
        "infinity",
        "not-utf8",
        "deep",
    ],
)
def test_loads_refuses_malformed_json_with_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError) as caught:
        codec.loads(data)

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, BootstrapError)


def test_codec_does_not_import_the_json_package() -> None:
    script = (
        "import sys; from bootstrap import codec; "
        "codec.loads(codec.dumps({'a': [1]})); "
        "print('json' in sys.modules, 'typing' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["False", "False"]
