"""`python -m bootstrap`: run the Lambda runtime."""

import gc

# Off before the first import: importing the runtime, its telemetry and the
# handler allocates thousands of objects and frees almost none, so every
# collection during init is wasted work on the cold path. bootstrap.main turns
# the collector back on once init is done. (The frozen binary turns it off
# earlier still, before Nuitka runs any module: build/loader/startup.c.)
gc.disable()

if "__compiled__" in globals():
    # Only the frozen binary (Nuitka defines __compiled__) carries the
    # regular expressions of the cold path, compiled by the build
    # (build/regex_cache.py). Under CPython every pattern is compiled as
    # usual, without a failed import's search of sys.path at each start.
    import bootstrap_regex_cache  # type: ignore[import-not-found]  # noqa: F401

from bootstrap.main import main  # noqa: E402 - after the collector is off

raise SystemExit(main())
