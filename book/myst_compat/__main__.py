"""``python book/myst_compat check|rewrite [NOTEBOOK ...]``: run as a folder, the package is not
imported by name, so its parent folder goes on the path first."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myst_compat import main

sys.exit(main())
