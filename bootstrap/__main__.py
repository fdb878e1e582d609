"""`python -m bootstrap`: run the Lambda runtime."""

from bootstrap.main import main

raise SystemExit(main())
