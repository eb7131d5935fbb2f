"""``python -m fromax``: the same as the ``fromax`` command."""

import sys

from fromax.lab._cli import main

sys.exit(main())
