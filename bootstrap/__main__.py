"""`python -m bootstrap`: run the Lambda runtime."""

import gc

# Off before the first import: importing the runtime, its telemetry and the
# handler allocates thousands of objects and frees almost none, so every
# collection during init is wasted work on the cold path. bootstrap.main turns
# the collector back on once init is done.
gc.disable()

from bootstrap.main import main  # noqa: E402 - after the collector is off

raise SystemExit(main())
