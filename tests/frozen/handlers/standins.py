"""Runs, in the frozen process, the botocore paths whose imports the build made lazy.

build/anti-bloat.yml swaps modules a DynamoDB call never uses for stand-ins
that import on first use (jmespath, ElementTree, dateutil, decimal,
configparser, shlex, subprocess, getpass, urllib.request's proxy lookups,
importlib.metadata, the idna codec for ASCII host names), writes botocore's
two dataclasses out, drops the
docstring builders of botocore.docs and skips the **kwargs check of event
handlers. This handler reports what was loaded after the client was created,
then drives each path that reaches a stand-in, so a broken stand-in fails the
test instead of a rarely used call in production.
"""

import os
import socket
import sys
from typing import Any

from botocore import compat, configloader, credentials, utils, validate
from urllib3.util import ssl_

from handler.client import create_dynamodb_client
from handler.config import Settings
from handler.table import USER_INDEX_NAME

# Modules whose import the stand-ins keep off the cold path.
DEFERRED = (
    "botocore.docs.service",
    "jmespath",
    "xml.etree.ElementTree",
    "dateutil.parser",
    "dateutil.tz",
    "decimal",
    "configparser",
    "shlex",
    "subprocess",
    "getpass",
    "urllib.request",
    "importlib.metadata",
    "dataclasses",
    "inspect",
    # The standard library's own imports, edited the same way.
    "random",
    "calendar",
    "locale",
    "ipaddress",
    "tokenize",
    "traceback",
    "gzip",
    "concurrent.futures",
    "botocore.vendored.six",
)

# A credential_process that prints credentials, split by shlex and run by
# subprocess through the stand-ins.
CREDENTIAL_PROCESS = (
    "/bin/echo "
    '\'{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "s", '
    '"Expiration": "2999-01-01T00:00:00Z"}\''
)


def _process_credentials() -> str:
    provider = credentials.ProcessProvider(
        profile_name="default",
        load_config=lambda: {
            "profiles": {"default": {"credential_process": CREDENTIAL_PROCESS}}
        },
    )
    found = provider.load()
    assert found is not None
    # Refreshable: the expiry went through dateutil's parser and time zones.
    frozen_credentials = found.get_frozen_credentials()

    return str(frozen_credentials.access_key)


def _config_file_profiles() -> list[str]:
    # tempfile is imported in the functions that use it: it imports random,
    # which the check of what init loaded must not find loaded by us.
    import tempfile  # noqa: PLC0415

    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as config:
        config.write("[profile a]\nregion = eu-west-1\n[default]\nregion = us-east-1\n")
    try:
        parsed = configloader.load_config(config.name)
    finally:
        os.unlink(config.name)

    return sorted(parsed["profiles"])


def _proxies_with(variable: str, value: str) -> dict[str, str]:
    os.environ[variable] = value
    try:
        return dict(
            utils.get_environ_proxies("https://dynamodb.us-east-1.amazonaws.com")
        )
    finally:
        del os.environ[variable]


# What the idna codec loads; urllib3 encodes ASCII names without it.
HOSTNAME_CODEC = ("encodings.idna", "stringprep", "unicodedata")


def _tls_server_hostname(host: str) -> str | None:
    """The name urllib3's TLS wrapper gives ssl (for SNI and the certificate)."""
    context = ssl_.create_urllib3_context()
    with socket.socket() as sock:
        # Not connected: no handshake, only the wrapping.
        wrapped = ssl_.ssl_wrap_socket(sock, server_hostname=host, ssl_context=context)
        with wrapped:
            return wrapped.server_hostname


def _standard_library_stand_ins() -> dict[str, Any]:
    """Each path of a standard library module behind a stand-in, run."""
    # Imported here: the check of what init loaded must not see them.
    import datetime  # noqa: PLC0415
    import email.utils  # noqa: PLC0415
    import linecache  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415

    from botocore import serialize  # noqa: PLC0415
    from botocore.retries import standard  # noqa: PLC0415
    from urllib3.util import ssl_match_hostname  # noqa: PLC0415

    moment = datetime.datetime(2026, 12, 3, 10, 8, 18, tzinfo=datetime.UTC)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as source:
        source.write("first = 1\nsecond = 2\n")
    try:
        # linecache reads a source file through tokenize.open.
        second_line = linecache.getline(source.name, 2)
    finally:
        os.unlink(source.name)

    return {
        "jitter": 0.0 <= standard.ExponentialBackoff()._random() < 1.0,
        "epoch_seconds": serialize.Serializer()._timestamp_unixtimestamp(moment),
        "mail_date": email.utils.mktime_tz((2026, 12, 3, 10, 8, 18, 0, 1, -1, 0)),
        "message_id_host": email.utils.make_msgid(domain="example.com")[-13:],
        "bracketed_host": urllib.parse.urlsplit("http://[::1]:8000/x").hostname,
        "certificate_ip_match": ssl_match_hostname._ipaddress_match(
            "127.0.0.1", ssl_match_hostname.ipaddress.ip_address("127.0.0.1")
        ),
        "traceback_line": second_line,
        "logged_exception": _logged_exception(),
        "gzip_round_trip": _gzip_round_trip(),
    }


def _gzip_round_trip() -> str:
    """
    Compress with botocore.compress (its gzip functions are stand-ins), read
    back through the loader's .json.gz opener, decompress with compat.gzip.
    """
    import io  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from botocore import compress, loaders  # noqa: PLC0415

    gzip = compat.gzip  # type: ignore[attr-defined]
    whole = compress._gzip_compress_body(b'"x"')
    streamed = compress._gzip_compress_fileobj(io.BytesIO(b'"y"')).read()
    with tempfile.NamedTemporaryFile("wb", suffix=".json.gz", delete=False) as data:
        data.write(streamed)
    try:
        with loaders._JSON_OPEN_METHODS[".json.gz"](data.name) as opened:
            from_disk = opened.read()
    finally:
        os.unlink(data.name)

    return (gzip.decompress(whole) + from_disk).decode("ascii")


def _logged_exception() -> str:
    """A record with an exception, formatted by logging's own Formatter."""
    import logging  # noqa: PLC0415

    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "m", (), sys.exc_info()
        )
    text = logging.Formatter().format(record)

    return text.splitlines()[-1]


def _decimal_accepted() -> bool:
    # Imported here: the check above must not find decimal loaded by us.
    import decimal  # noqa: PLC0415

    double_types = validate.ParamValidator.SCALAR_TYPES["double"]

    return isinstance(decimal.Decimal("1.5"), double_types)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Create the service's client, then use every path behind a stand-in."""
    settings = Settings.from_env()
    client = create_dynamodb_client(settings)
    loaded_at_init = [name for name in DEFERRED if name in sys.modules]

    # Paginator result keys and waiter matchers are jmespath expressions.
    pages = client.get_paginator("query").paginate(
        TableName=settings.table_name,
        IndexName=USER_INDEX_NAME,
        KeyConditionExpression="user_id = :user",
        ExpressionAttributeValues={":user": {"S": "nobody"}},
    )
    paginated_items = sum(len(page["Items"]) for page in pages)
    client.get_waiter("table_exists").wait(
        TableName=settings.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 2}
    )
    # DescribeTable answers with timestamps: dateutil parses them.
    created = client.describe_table(TableName=settings.table_name)["Table"][
        "CreationDateTime"
    ]

    # Endpoint rules read a batch call's table ARNs through jmespath.
    batch = client.batch_get_item(
        RequestItems={
            settings.table_name: {"Keys": [{"session_id": {"S": "no-such-session"}}]}
        }
    )

    tls_server_hostname = _tls_server_hostname("dynamodb.us-east-1.amazonaws.com")
    # After DynamoDB calls and a TLS wrap, before the paths below load more.
    hostname_codec_loaded = [name for name in HOSTNAME_CODEC if name in sys.modules]

    # The parser botocore catches XML errors from (pyexpat is not compiled in,
    # so the frozen binary parses no XML): its errors must still be caught.
    # (ETree is compat's own name for the module, absent from the type stubs.)
    element_tree = compat.ETree  # type: ignore[attr-defined]
    xml_errors_caught = issubclass(element_tree.ParseError, compat.XMLParseError)

    return {
        "loaded_at_init": loaded_at_init,
        "paginated_items": paginated_items,
        "batch_tables": sorted(batch["Responses"]),
        "tls_server_hostname": tls_server_hostname,
        "hostname_codec_loaded": hostname_codec_loaded,
        "xml_errors_caught": xml_errors_caught,
        "client_method_doc": client.put_item.__doc__,
        "created_has_time_zone": created.tzinfo is not None,
        "timestamp": utils.parse_timestamp("2026-12-03T10:08:18Z").isoformat(),
        "process_access_key": _process_credentials(),
        "config_profiles": _config_file_profiles(),
        "proxies": _proxies_with("HTTPS_PROXY", "http://proxy.internal:3128"),
        "no_proxy_bypass": _proxies_with("NO_PROXY", "*"),
        "decimal_accepted": _decimal_accepted(),
        "standard_library": _standard_library_stand_ins(),
        "kwargs_check": compat.accepts_kwargs(lambda **kwargs: None),
        # (six is compat's own name for the module, absent from the stubs.)
        "six_quote": compat.six.moves.urllib.parse.quote("a b"),  # type: ignore[attr-defined]
    }
