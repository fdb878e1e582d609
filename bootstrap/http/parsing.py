"""Selects the event parser: compiled, or its pure-Python twin on request.

Setting BOOTSTRAP_NO_EXTENSIONS to a non-empty value selects the twin: a kill
switch should the extension misbehave, and how the tests run both forms.
"""

from __future__ import annotations

import os

if os.environ.get("BOOTSTRAP_NO_EXTENSIONS"):
    from bootstrap.http._events_py import (
        detect_source,
        parse_event,
        parse_query_string,
        unquote,
    )
else:
    from bootstrap.http.events import (
        detect_source,
        parse_event,
        parse_query_string,
        unquote,
    )

__all__ = ["detect_source", "parse_event", "parse_query_string", "unquote"]
