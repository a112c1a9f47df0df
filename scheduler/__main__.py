"""``python -m scheduler`` is the ``skybatch`` command."""

import sys

from scheduler.cli.main import main

sys.exit(main())
