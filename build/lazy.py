"""Stand-ins the frozen build puts where botocore imports what DynamoDB never runs.

build/anti-bloat.yml rewrites imports of botocore, urllib3 and a few standard
library modules at compile time to use these:

- a module proxy that imports the real module on first attribute access
  (jmespath, xml.etree.ElementTree, configparser, shlex, subprocess, getpass,
  tempfile, dateutil.parser, random, calendar, ipaddress, tokenize);
- a function proxy that imports its module on first call (dateutil's time
  zones, which botocore calls but never type-checks against, and the default
  random function of botocore's retry backoff);
- a Decimal type that matches Decimal instances without importing decimal
  (the frozen binary has only the pure-Python _pydecimal, whose import alone
  costs more than a DynamoDB call);
- urllib.request's proxy lookups answered from the environment while it holds
  no proxy variable, the only case in which they need no urllib.request;
- host names encoded as the idna codec encodes them, without importing it
  for an ASCII name (the codec imports stringprep and unicodedata);
- a docstring builder that builds nothing (the frozen binary drops docstrings
  anyway, so botocore.docs and its HTML and ReST machinery would be imported
  for text nobody can read).

Each stand-in keeps the behaviour a DynamoDB client relies on; only the import
moves off the cold path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from types import ModuleType, SimpleNamespace
from typing import Any


class LazyModule:
    """A module that is imported the first time one of its attributes is read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            # fromlist makes __import__ return the submodule, not the package.
            module = __import__(self._name, fromlist=["_"])
            self._module = module

        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"

        return f"<lazy module {self._name!r}, {state}>"


def no_docstring(*args: object, **kwargs: object) -> None:
    """Stand in for botocore's lazily built docstrings: the binary has none."""
    return None


def lazy_submodule(dotted: str) -> SimpleNamespace:
    """
    Stand in for `import package.submodule`, which binds the name `package`.

    lazy_submodule("dateutil.parser") gives an object whose `parser` attribute
    is a LazyModule, so `dateutil.parser.parse(...)` in the edited module
    imports dateutil.parser at that call and not before.
    """
    _, _, submodule = dotted.partition(".")
    if not submodule or "." in submodule:
        raise ValueError(f"expected package.submodule, got {dotted!r}")

    return SimpleNamespace(**{submodule: LazyModule(dotted)})


def lazy_callable(module: str, name: str) -> Callable[..., Any]:
    """
    A function that imports `module` on its first call and calls `module.name`.

    For names botocore only calls (tzutc(), tzlocal(), subprocess.Popen as a
    default argument); never for names a module tests with isinstance.
    """
    target: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not target:
            target.append(getattr(__import__(module, fromlist=["_"]), name))
        return target[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = module

    return call


class _LazyDecimalMeta(type):
    def __instancecheck__(cls, instance: object) -> bool:
        # A Decimal instance can only exist once decimal (or _pydecimal, which
        # the frozen decimal is) has been imported by whoever created it.
        for module_name in ("decimal", "_pydecimal"):
            module = sys.modules.get(module_name)
            if module is not None and isinstance(instance, module.Decimal):
                return True
        return False


class LazyDecimal(metaclass=_LazyDecimalMeta):
    """Matches Decimal instances in isinstance checks without importing decimal."""


# What `decimal` means in the edited modules: they only use decimal.Decimal,
# and only in isinstance checks.
lazy_decimal = SimpleNamespace(Decimal=LazyDecimal)


def _holds_proxy_variables(environ: Mapping[str, str]) -> bool:
    # urllib.request.getproxies_environment reads every variable whose name,
    # lowercased, ends in "_proxy"; without one it finds no proxy.
    return any(name.lower().endswith("_proxy") for name in environ)


def getproxies() -> dict[str, str]:
    """urllib.request.getproxies, importing it only when a proxy variable is set."""
    if not _holds_proxy_variables(os.environ):
        return {}
    import urllib.request  # noqa: PLC0415 - the whole point is to defer it

    return urllib.request.getproxies()


def proxy_bypass(host: str) -> bool:
    """urllib.request.proxy_bypass, importing it only when a proxy variable is set."""
    if not _holds_proxy_variables(os.environ):
        # No no_proxy variable: urllib bypasses nothing.
        return False
    import urllib.request  # noqa: PLC0415 - the whole point is to defer it

    return bool(urllib.request.proxy_bypass(host))


# The idna codec's longest label: 63 octets (RFC 1035).
_MAX_LABEL_OCTETS = 63


def idna_encode(host: str) -> bytes:
    """
    `host.encode("idna")`, without importing the codec for an ASCII name.

    urllib3 checks every host it connects to with the idna codec, and hands
    the name to getaddrinfo and to TLS (SNI), which both encode it with the
    codec again. Its first use imports encodings.idna, stringprep and the
    1.1 MB unicodedata module: about 1.3 ms of the first DynamoDB call, for
    endpoint names that are always ASCII. For an ASCII name the codec only
    checks label lengths (its own fast path); this runs the same checks and
    leaves any other name to the codec.

    Raises:
        UnicodeError: an empty label, or one longer than 63 octets.
    """
    if not host.isascii():
        return host.encode("idna")
    encoded = host.encode("ascii")
    if not encoded:
        return encoded
    *labels, last = encoded.split(b".")
    for label in labels:
        if not 0 < len(label) <= _MAX_LABEL_OCTETS:
            raise UnicodeError("label empty or too long")
    if len(last) > _MAX_LABEL_OCTETS:
        raise UnicodeError("label too long")

    return encoded
