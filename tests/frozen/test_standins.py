"""The lazy stand-ins of the frozen build: deferred imports, same botocore results."""

from __future__ import annotations

import concurrent.futures
import copy
import decimal
import importlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.awsrequest
import botocore.exceptions
import pytest

from build import freeze, lazy
from build.lazy import (
    LazyModule,
    lazy_callable,
    lazy_decimal,
    lazy_submodule,
    no_docstring,
)
from tests.frozen.antibloat import edits, installed_source, rewritten_module


@pytest.mark.parametrize(
    ("module", "old"),
    [(module, old) for module, pairs in edits().items() for old, _ in pairs],
)
def test_every_compile_time_edit_still_matches_the_installed_source(
    module: str, old: str
) -> None:
    # A text that no longer matches (a botocore upgrade) would leave the
    # module unedited: the cold path silently grows back.
    _, source = installed_source(module)

    assert old in source


@pytest.mark.parametrize("module", sorted(edits()))
def test_every_edited_module_still_runs_its_body(module: str) -> None:
    # An edit that breaks a module body (a name used before the stand-in
    # that defines it) fails here, not in the middle of a frozen build.
    rewritten = rewritten_module(module)

    assert rewritten.__name__ == module


@pytest.mark.parametrize(
    ("module", "class_name", "field", "value"),
    [
        ("botocore.context", "ClientContext", "features", {"waiter"}),
        ("botocore.plugin", "PluginContext", "plugins", "a,b"),
    ],
)
def test_written_out_contexts_behave_as_the_dataclasses(
    module: str, class_name: str, field: str, value: object
) -> None:
    stock = getattr(importlib.import_module(module), class_name)
    written = getattr(rewritten_module(module), class_name)

    for args, kwargs in (((), {}), ((value,), {}), ((), {field: value})):
        expected, actual = stock(*args, **kwargs), written(*args, **kwargs)
        assert getattr(actual, field) == getattr(expected, field)
        assert repr(actual) == repr(expected)
        assert actual == written(*args, **kwargs)
        assert copy.deepcopy(actual) == actual
    assert written(value) != written()
    assert stock.__match_args__ == written.__match_args__


def test_written_out_client_context_gives_each_instance_its_own_features() -> None:
    # As field(default_factory=set) does: no set shared between instances.
    client_context = rewritten_module("botocore.context").ClientContext
    first, second = client_context(), client_context()

    first.features.add("waiter")

    assert second.features == set()


def test_lazy_callable_imports_on_first_call() -> None:
    sys.modules.pop("colorsys", None)
    rgb_to_hsv = lazy_callable("colorsys", "rgb_to_hsv")

    assert "colorsys" not in sys.modules
    assert rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules
    assert rgb_to_hsv.__name__ == "rgb_to_hsv"


def test_lazy_submodule_binds_the_package_name_to_its_submodule() -> None:
    dateutil = lazy_submodule("dateutil.parser")

    parsed = dateutil.parser.parse("2026-12-03T10:08:18Z")

    assert parsed.isoformat() == "2026-12-03T10:08:18+00:00"
    with pytest.raises(ValueError, match=r"package\.submodule"):
        lazy_submodule("dateutil")


def test_lazy_decimal_matches_decimal_instances_only() -> None:
    assert isinstance(decimal.Decimal("1.5"), lazy_decimal.Decimal)
    assert not isinstance(1.5, lazy_decimal.Decimal)
    assert not isinstance("1.5", lazy_decimal.Decimal)
    # botocore.validate's accepted types for a double, as edited.
    assert isinstance(decimal.Decimal(2), (float, lazy_decimal.Decimal, int))


def test_lazy_decimal_imports_nothing() -> None:
    check = (
        "import sys; from build.lazy import LazyDecimal; "
        "assert not isinstance(1.5, LazyDecimal); "
        "assert 'decimal' not in sys.modules and '_pydecimal' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True, cwd=freeze.ROOT)


PROXY_ENVIRONMENTS = (
    {},
    {"HTTPS_PROXY": "http://proxy.internal:3128"},
    {"https_proxy": "http://proxy.internal:3128", "no_proxy": "dynamodb.local"},
    {"HTTP_PROXY": ""},
    {"NO_PROXY": "*"},
)


@pytest.mark.parametrize("environment", PROXY_ENVIRONMENTS)
def test_proxy_stand_ins_answer_as_urllib_request(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert lazy.getproxies() == urllib.request.getproxies()
    for host in ("dynamodb.local", "dynamodb.us-east-1.amazonaws.com:443"):
        assert lazy.proxy_bypass(host) == bool(urllib.request.proxy_bypass(host))


def test_lazy_module_imports_nothing_until_an_attribute_is_read() -> None:
    sys.modules.pop("colorsys", None)
    colorsys = LazyModule("colorsys")

    assert "colorsys" not in sys.modules
    assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules


def test_lazy_module_of_a_submodule_reads_the_submodule() -> None:
    element_tree = LazyModule("xml.etree.ElementTree")

    parse_error = element_tree.ParseError

    assert parse_error is sys.modules["xml.etree.ElementTree"].ParseError
    # botocore.compat's stand-in catches parse errors through this base class.
    assert issubclass(parse_error, SyntaxError)


def test_lazy_module_of_a_missing_module_fails_on_first_use() -> None:
    missing = LazyModule("no_such_module_for_the_stand_in_test")

    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        _ = missing.anything


def test_docstring_stand_in_builds_no_docstring() -> None:
    docstring = no_docstring(operation_model=object(), method_description="x")  # type: ignore[func-returns-value]

    assert docstring is None


def test_frozen_client_defers_the_stand_ins_and_still_runs_their_paths(
    frozen_bootstrap: Path,
    lambda_runtime: Callable[..., Any],
    sessions_env: dict[str, str],
    sessions_table: str,
) -> None:
    emulator = lambda_runtime(
        "tests.frozen.handlers.standins.handler", env=sessions_env, timeout_s=30.0
    )

    result = emulator.invoke(b"{}")

    assert result.function_error is None, (result, emulator.logs()[-3000:])
    answer = json.loads(result.body)
    assert answer["loaded_at_init"] == []
    assert answer["paginated_items"] == 0
    assert answer["batch_tables"] == [sessions_table]
    assert answer["tls_server_hostname"] == "dynamodb.us-east-1.amazonaws.com"
    assert answer["hostname_codec_loaded"] == []
    assert answer["xml_errors_caught"] is True
    assert answer["client_method_doc"] is None
    assert answer["created_has_time_zone"] is True
    assert answer["timestamp"] == "2026-12-03T10:08:18+00:00"
    assert answer["process_access_key"] == "AKIDPROCESS"
    assert answer["config_profiles"] == ["a", "default"]
    assert answer["proxies"] == {"https": "http://proxy.internal:3128"}
    assert answer["no_proxy_bypass"] == {}
    assert answer["decimal_accepted"] is True
    assert answer["standard_library"] == {
        "jitter": True,
        "epoch_seconds": 1796292498,
        "mail_date": 1796292498,
        "message_id_host": "@example.com>",
        "bracketed_host": "::1",
        "certificate_ip_match": True,
        "traceback_line": "second = 2\n",
        "logged_exception": "ValueError: boom",
        "gzip_round_trip": '"x""y"',
    }
    assert answer["kwargs_check"] is not None
    assert answer["six_quote"] == "a%20b"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (concurrent.futures.CancelledError(), concurrent.futures.CancelledError),
        (RuntimeError("no"), botocore.exceptions.HTTPClientError),
    ],
)
def test_edited_send_reraises_cancellation_and_wraps_other_failures(
    raised: BaseException, expected: type[BaseException]
) -> None:
    # The edit looks CancelledError up in the except clause itself: a
    # cancellation still passes through, anything else becomes botocore's
    # HTTPClientError, as in stock botocore.
    httpsession = rewritten_module("botocore.httpsession")
    session = httpsession.URLLib3Session()

    def fail(*args: object, **kwargs: object) -> None:
        raise raised

    session._get_connection_manager = fail  # type: ignore[method-assign]
    request = botocore.awsrequest.AWSRequest(
        method="GET", url="http://127.0.0.1:9/"
    ).prepare()

    with pytest.raises(expected):
        session.send(request)


HASHLIB_WITHOUT_OPENSSL = """
import hashlib as stock
import sys

sys.modules["_hashlib"] = None  # as in the frozen build: no OpenSSL digests
digest_modules = {"_md5", "_sha1", "_sha256", "_sha512", "_blake2", "_sha3"}
for name in digest_modules | {"hashlib", "hmac"}:
    sys.modules.pop(name, None)
from tests.frozen.antibloat import rewritten_module

hashlib = rewritten_module("hashlib")
loaded_at_import = sorted(digest_modules & set(sys.modules))
from_import = hashlib.__getattr__("sha256")
digests = {
    name: getattr(hashlib, name)(b"abc").hexdigest(*([8] if "shake" in name else []))
    for name in hashlib.algorithms_guaranteed
}
try:
    hashlib.ripemd160
    unknown = "bound"
except AttributeError as exc:
    unknown = str(exc)
print(loaded_at_import, sorted(digest_modules & set(sys.modules)), sep="\\n")
print(from_import is hashlib.sha256, unknown, sep="\\n")
stock_digests = {
    name: getattr(stock, name)(b"abc").hexdigest(*([8] if "shake" in name else []))
    for name in stock.algorithms_guaranteed
}
print(digests == stock_digests)
"""


def test_hashlib_without_openssl_loads_each_digest_module_on_first_use() -> None:
    # The build leaves _hashlib out; the edited hashlib must then not load
    # six extension modules at import, and must hash as stock hashlib does.
    completed = subprocess.run(
        [sys.executable, "-c", HASHLIB_WITHOUT_OPENSSL],
        cwd=freeze.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    at_import, after_use, same_object, unknown, same_digests = (
        completed.stdout.splitlines()
    )
    assert at_import == "[]"
    assert after_use == str(
        sorted({"_md5", "_sha1", "_sha256", "_sha512", "_blake2", "_sha3"})
    )
    assert same_object == "True"
    assert unknown == "module 'hashlib' has no attribute 'ripemd160'"
    assert same_digests == "True"
