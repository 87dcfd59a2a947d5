"""``python -m ml_platform.sample_data``: the ``ml-platform-sample-data`` command."""

import sys

from ml_platform.sample_data.cli import main

sys.exit(main())
