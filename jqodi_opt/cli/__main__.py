"""``python -m jqodi_opt.cli``."""

import sys

from jqodi_opt.cli import main

sys.exit(main())
