"""`python -m bench`: see bench.run for what it measures and how."""

import sys

from bench.run import main

sys.exit(main())
