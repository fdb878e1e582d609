"""JSON in and out through CPython's `_json` accelerator, without the `json` package.

`import json` costs a cold start about 20 ms on this kind of machine (DESIGN
section 6); the C scanner and encoder it wraps load in well under one. The output
is what `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))` gives,
encoded as UTF-8.
"""

from __future__ import annotations

import _json
import sys

from bootstrap.errors import CodecError

# `typing` costs a cold start about 5 ms; annotations only need it for mypy.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _ScannerSettings:
    """The attributes `_json.make_scanner` reads from its context object."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    # The C scanner takes a fast path when these are exactly float and int.
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        """Refuse NaN and Infinity: they are not JSON and other parsers reject them."""
        raise CodecError(f"{name} is not a JSON value")


def _default(obj: Any) -> Any:
    """Write what boto3 hands back from DynamoDB (Decimal) as a JSON number."""
    # Importing decimal costs 2 ms; a Decimal can only exist once it is imported.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal) and obj.is_finite():
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# typeshed types the context as a scanner; the C code only reads attributes.
_scan_once = _json.make_scanner(_ScannerSettings())  # type: ignore[arg-type]
_encode = _json.make_encoder(
    {},  # markers: the encoder records containers here to catch cycles
    _default,
    _json.encode_basestring,  # keeps non-ASCII characters as they are
    None,  # no indent: the compact form
    ":",
    ",",
    False,  # sort_keys
    False,  # skipkeys
    False,  # allow_nan: NaN and Infinity are refused, as in parse_constant
)
# The same, with every non-ASCII character escaped: for JSON in HTTP headers.
_encode_ascii = _json.make_encoder(
    {}, _default, _json.encode_basestring_ascii, None, ":", ",", False, False, False
)
_WHITESPACE = " \t\n\r"


def _scan(text: str, start: int) -> tuple[Any, int]:
    """Run the C scanner, turning each of its failures into a CodecError."""
    try:
        return _scan_once(text, start)
    except StopIteration as exc:
        raise CodecError(f"expecting a JSON value at char {exc.value}") from None
    except RecursionError as exc:
        raise CodecError("JSON input is nested too deeply") from exc
    except CodecError:
        raise
    except ValueError as exc:
        raise CodecError(f"invalid JSON: {exc}") from exc


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """
    Parse one JSON document.

    Args:
        data: UTF-8 bytes or text.

    Returns:
        The value: dict, list, str, int, float, bool or None.

    Raises:
        CodecError: the data is not UTF-8, not JSON, or has trailing data.
    """
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"JSON input is not valid UTF-8: {exc}") from exc

    length = len(text)
    start = 0
    while start < length and text[start] in _WHITESPACE:
        start += 1

    try:
        value, end = _scan(text, start)
    except SystemError:
        # NOTE: the C scanner builds its error from json.decoder.JSONDecodeError
        # and fails with a SystemError when that module is not loaded yet. Only
        # malformed input pays for importing it, then the scan runs again to get
        # the precise message.
        import json.decoder  # noqa: F401, PLC0415 - cold path: only on bad input

        value, end = _scan(text, start)

    while end < length and text[end] in _WHITESPACE:
        end += 1
    if end != length:
        raise CodecError(f"invalid JSON: extra data at char {end}")

    return value


def dumps(obj: Any) -> bytes:
    """
    Serialize a value as compact JSON, UTF-8 encoded, non-ASCII kept.

    Args:
        obj: dicts, lists, tuples, str, int, float, bool, None, and finite Decimals.

    Returns:
        The JSON document as bytes.

    Raises:
        CodecError: a value has no JSON form (an object, NaN, a cycle, deep nesting).
    """
    try:
        chunks = _encode(obj, 0)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CodecError(f"cannot serialize as JSON: {exc}") from exc

    # Lone surrogates are legal in a Python str but cannot be encoded.
    try:
        return "".join(chunks).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CodecError(f"cannot serialize as JSON: {exc}") from exc


def dumps_ascii(obj: Any) -> str:
    """
    Serialize like dumps(), escaping every non-ASCII character as \\uXXXX.

    Args:
        obj: as for dumps().

    Returns:
        Compact JSON text made of printable ASCII only, fit for an HTTP header.

    Raises:
        CodecError: a value has no JSON form.
    """
    try:
        return "".join(_encode_ascii(obj, 0))
    except (TypeError, ValueError, RecursionError) as exc:
        raise CodecError(f"cannot serialize as JSON: {exc}") from exc
