"""`python -m voice` is the `lantern` command."""

import sys

from voice.cli import main

sys.exit(main())
