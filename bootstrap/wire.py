"""HTTP/1.1 over one keep-alive connection: the compiled form, or its twin.

`_wire_c` (libc sockets, GIL released while blocked) is the default. Set
BOOTSTRAP_NO_EXTENSIONS=1 to run the pure-Python twin `_wire_py` instead, to
debug or to compare; it is also the fallback when the extension is not built.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from bootstrap._wire_c import Connection, Response
elif os.environ.get("BOOTSTRAP_NO_EXTENSIONS"):
    from bootstrap._wire_py import Connection, Response
else:
    try:
        from bootstrap._wire_c import Connection, Response
    except ImportError:
        from bootstrap._wire_py import Connection, Response

__all__ = ["Connection", "Response"]
