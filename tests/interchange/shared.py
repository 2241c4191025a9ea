"""Where the shared REFI-QDA schemas and samples are: `shared/qdpx` next to the project root.

The folder is looked up beside the project and each of its parents (`../shared/qdpx` for a checkout
in `/work/main`), or taken from `TRUSTCODER_SHARED_QDPX`. Tests that need it skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

SHARED_MISSING = (
    "REFI-QDA schemas and samples not found: put them in shared/qdpx next to the project root "
    "(../shared/qdpx) or set TRUSTCODER_SHARED_QDPX to the folder holding Project-mrt2019.xsd"
)


def shared_qdpx() -> Path | None:
    configured = os.environ.get("TRUSTCODER_SHARED_QDPX")
    candidates = [Path(configured)] if configured else []
    root = Path(settings.BASE_DIR).resolve()
    candidates += [parent / "shared" / "qdpx" for parent in root.parents]
    for candidate in candidates:
        if (candidate / "Project-mrt2019.xsd").is_file():
            return candidate
    return None
