"""`python -m advisor.cli` runs the `advise` command line."""

import sys

from advisor.cli import main

sys.exit(main())
