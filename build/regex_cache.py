"""Regular expressions of the cold path, compiled by the build instead of at start.

`re.compile` parses a pattern and turns it into SRE opcodes in pure Python
(re._parser, re._compiler), then hands the opcodes to the C function
`_sre.compile`. botocore, urllib3, email and http.client compile dozens of
patterns when they are imported; urllib3's IPv6 host patterns alone run to
a thousand characters each. A cold CPython process importing the sessions
function compiled 84 patterns in 41.6 ms.

The build runs the function's cold path once in a fresh interpreter
(`python -m build.regex_cache`), records every pattern compiled, and writes
each one's opcodes into a generated module compiled into the frozen binary.
At start, bootstrap/__main__.py imports that module, which hands the table to
build/precompiled_regex.py: once `re` is imported, it builds those patterns
straight with `_sre.compile`. Any other pattern takes the usual path.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # no stub: the C half of re
import marshal
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from build.precompiled_regex import Key, Parts

# The name of the generated module; bootstrap/__main__.py imports it when the
# frozen build has compiled it in.
MODULE_NAME = "bootstrap_regex_cache"


def compile_parts(pattern: str | bytes, flags: int) -> Parts:
    """The arguments re._compiler.compile passes to _sre.compile, after the pattern."""
    # The same steps as re._compiler.compile, stopping before the C call.
    parsed = re._parser.parse(pattern, flags)  # type: ignore[attr-defined]
    code = re._compiler._code(parsed, flags)  # type: ignore[attr-defined]
    groupindex: dict[str, int] = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name

    # Opcodes are int subclasses (named constants), which marshal refuses.
    return (
        int(flags | parsed.state.flags),
        [int(op) for op in code],
        int(parsed.state.groups - 1),
        groupindex,
        tuple(indexgroup),
    )


def record_patterns(run: Callable[[], object]) -> list[Key]:
    """
    Every (pattern, flags) that `run` compiles, in first-use order.

    Patterns compiled before the call and cached by `re` are seen too: the
    recorder sits in front of re's cache.
    """
    seen: dict[Key, None] = {}
    original = re._compile  # type: ignore[attr-defined]

    def recording(pattern: Any, flags: Any) -> re.Pattern[Any]:
        if isinstance(pattern, str | bytes):
            seen.setdefault((pattern, int(flags)), None)
        return original(pattern, flags)  # type: ignore[no-any-return]

    re._compile = recording  # type: ignore[attr-defined]
    try:
        run()
    finally:
        re._compile = original  # type: ignore[attr-defined]

    return list(seen)


def table_for(patterns: Iterable[Key]) -> dict[Key, Parts]:
    """The opcodes of each pattern, skipping any that re.DEBUG would print."""
    return {
        (pattern, flags): compile_parts(pattern, flags)
        for pattern, flags in patterns
        if not flags & re.DEBUG
    }


def write_module(table: dict[Key, Parts], target: Path) -> int:
    """
    Generate the module that installs `table` when imported.

    Returns:
        The size of the marshalled table, for the build log.
    """
    blob = marshal.dumps(table)
    version = tuple(sys.version_info[:2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        '"""Regular expressions precompiled by build/regex_cache.py (generated)."""\n'
        "\n"
        "from build.precompiled_regex import install_when_imported\n"
        "\n"
        f"install_when_imported({_sre.MAGIC!r}, {version!r}, {blob!r})\n",
        encoding="utf-8",
    )

    return len(blob)


# The sessions function's first request, as API Gateway's HTTP API sends it.
# DynamoDB is unreachable during the build (see COLD_PATH_ENV), so the call
# fails after botocore has built, signed and tried to send the request: every
# pattern on the way is compiled.
_FIRST_REQUEST = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/sessions",
    "rawQueryString": "",
    "headers": {
        "content-type": "application/json",
        "x-user-id": "regex-cache",
    },
    "requestContext": {
        "http": {"method": "POST", "path": "/sessions", "sourceIp": "127.0.0.1"},
        "requestId": "regex-cache",
        "timeEpoch": 0,
    },
    "body": '{"metadata": {"k": "v"}}',
    "isBase64Encoded": False,
}

# The environment the recording runs in: the handler's settings, fake
# credentials, and a DynamoDB endpoint where nothing listens.
COLD_PATH_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDREGEXCACHE",
    "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
    "DYNAMODB_MAX_ATTEMPTS": "1",
    "DYNAMODB_CONNECT_TIMEOUT_S": "0.2",
    "TRUST_USER_ID_HEADER": "true",
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}


def run_cold_path() -> None:
    """Import the runtime, its telemetry and the handler, and serve one request."""
    import bootstrap.main  # noqa: PLC0415 - the point is to import
    import bootstrap.telemetry.invocation  # noqa: PLC0415
    import bootstrap.telemetry.metrics  # noqa: PLC0415
    import bootstrap.telemetry.xray  # noqa: F401, PLC0415
    from handler.app import lambda_handler  # noqa: PLC0415

    lambda_handler(_FIRST_REQUEST, None)


def main(argv: list[str]) -> int:
    """`python -m build.regex_cache TARGET`: record the cold path, write TARGET."""
    (target,) = argv
    table = table_for(record_patterns(run_cold_path))
    size = write_module(table, Path(target))
    print(f"regex cache: {len(table)} patterns, {size} bytes")

    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
