"""Rule patterns compiled once per process, case-insensitive, as the engine searches with them.

The schema checks every pattern of a rule pack as the pack loads (`tools/rules/schema.py`), and
the engine compiles the ones a chart needs: both go through this one cache, so a pattern's
regular expression is parsed once, not twice (~400 patterns on a cold `codesense code`).
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=2048)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)
